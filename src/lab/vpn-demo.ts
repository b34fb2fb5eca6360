/**
 * The lab's real client: strongSwan (charon with kernel-libipsec, ESP in UDP)
 * in the client namespace connects to the cluster address with the lab's
 * ECDSA client certificate, gets a virtual address, and pings the
 * application host through the tunnel. What `shoal lab` prints as the
 * tunnel's traffic. The client is stopped again afterwards (by its PID).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NodeCommandRunner } from '../ports/command-node.js';
import { LAB_IPSEC } from './ipsec-pki.js';
import { CLUSTER, LAB_ADDRESSES } from './plan.js';
import { CHARON_BIN, StrongSwan, clientSwanctlConf } from './strongswan.js';

export interface VpnDemoReport {
  client: string;
  proposals: { ike: string; esp: string };
  connectMs: number;
  virtualAddress: string | null;
  responderSpi: string;
  ping: { target: string; sent: number; received: number; avgMs: number | null };
  esp: { packetsIn: number; packetsOut: number };
  ok: boolean;
  error?: string;
}

export const VPN_DEMO = { ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16', pings: 5 } as const;

export function strongSwanInstalled(): boolean {
  return existsSync(CHARON_BIN);
}

export async function runVpnDemo(opts: { namespace: string; dir: string; pkiDir: string }): Promise<VpnDemoReport> {
  const client = LAB_IPSEC.clients[0];
  const report: VpnDemoReport = {
    client: client.name,
    proposals: { ike: VPN_DEMO.ike, esp: VPN_DEMO.esp },
    connectMs: 0,
    virtualAddress: null,
    responderSpi: '',
    ping: { target: LAB_ADDRESSES.appHost, sent: 0, received: 0, avgMs: null },
    esp: { packetsIn: 0, packetsOut: 0 },
    ok: false,
  };
  rmSync(opts.dir, { recursive: true, force: true });
  const sw = await StrongSwan.start({ ns: opts.namespace, dir: opts.dir, name: 'lab client' });
  try {
    sw.writeCredentials({
      caPem: readFileSync(join(opts.pkiDir, 'ca.pem'), 'utf8'),
      certPem: readFileSync(join(opts.pkiDir, client.cert), 'utf8'),
      keyPem: readFileSync(join(opts.pkiDir, client.key), 'utf8'),
    });
    sw.writeConfig(clientSwanctlConf({ remoteAddr: CLUSTER.outsideAddress, proposals: VPN_DEMO.ike, espProposals: VPN_DEMO.esp, localId: client.name, remoteTs: LAB_ADDRESSES.innerNetwork }));
    await sw.load();
    const t0 = performance.now();
    await sw.initiate('home', 10);
    report.connectMs = performance.now() - t0;
    const r = await new NodeCommandRunner().run(['ip', 'netns', 'exec', opts.namespace, 'ping', '-n', '-c', String(VPN_DEMO.pings), '-i', '0.2', '-W', '1', LAB_ADDRESSES.appHost]);
    report.ping.sent = Number(/(\d+) packets transmitted/.exec(r.stdout)?.[1] ?? 0);
    report.ping.received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
    const avg = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
    report.ping.avgMs = avg === undefined ? null : Number(avg);
    const sa = (await sw.listSas())[0];
    report.virtualAddress = sa?.localVips[0] ?? null;
    report.responderSpi = sa?.responderSpi ?? '';
    const child = sa?.children[0];
    report.esp = { packetsIn: child?.packetsIn ?? 0, packetsOut: child?.packetsOut ?? 0 };
    report.ok = report.ping.sent > 0 && report.ping.received === report.ping.sent && report.virtualAddress !== null;
    await sw.terminate('home').catch(() => '');
  } catch (e) {
    report.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
  } finally {
    await sw.stop();
  }
  return report;
}
