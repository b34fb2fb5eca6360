/**
 * Real IPsec clients against a Shoal cluster: one namespace lab (unicast
 * mode, 2 members) for the whole file, strongSwan in the client namespace.
 *
 *   cl 198.18.16.2 (+ extras from .10) ── rt ── cluster 198.18.1.10 (m1, m2) ── ap 198.18.2.100
 *        charon-systemd / charon-cmd            IKEv2 + ESP-in-UDP             ping, iperf3 -s
 *
 * The tests run in file order and share the lab: the proposal matrix (ECDSA
 * and RSA certificates), PSK, a refused proposal, iperf3, CHILD and IKE
 * rekeys, a capture checked (and decrypted with the members' exported ESP
 * keys) by tshark, all with one charon; then charon-cmd (which must have the
 * namespace's `ipsec0` to itself), then 50 clients at once from the client's
 * extra addresses. Runs as root (CI does); a missing tool or privilege fails,
 * never skips. Figures are printed with console.log.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown.js';
import { LAB_IPSEC } from '../../src/lab/ipsec-pki.js';
import { loadCa } from '../../src/lab/members-pki.js';
import { CLUSTER, LAB_ADDRESSES } from '../../src/lab/plan.js';
import { addressAfter, FileCapture, Foreground, memberIpsec, ping, pool, requireBinaries, runIn, tshark } from '../support/ipsec-lab.js';
import { LabCluster } from '../support/lab-cluster.js';
import { CHARON_BIN, CHARON_PLUGINS, clientSwanctlConf, clientSwanctlConfMany, StrongSwan, SWANCTL_BIN, type ClientConnection, type IkeSa } from '../support/strongswan.js';

const CHARON_CMD_BIN = '/usr/sbin/charon-cmd';
const APP = LAB_ADDRESSES.appHost;
const REMOTE_TS = LAB_ADDRESSES.innerNetwork;
const MEMBERS = 2;
const MANY = 50;
/** Initiations in flight at once in the many-clients test. */
const AT_ONCE = 10;

interface Expect {
  encr: string;
  keysize: string;
  integ: string | undefined;
  prf: string;
  dh: string;
}
interface Proposal {
  ike: string;
  esp: string;
  ikeSa: Expect;
  child: Omit<Expect, 'prf' | 'dh'>;
}

/** As `swanctl --list-sas --raw` names them (no encr-keysize for ChaCha20-Poly1305: its key has one size). */
const PROPOSALS: readonly Proposal[] = [
  {
    ike: 'aes256gcm16-prfsha256-ecp256',
    esp: 'aes256gcm16',
    ikeSa: { encr: 'AES_GCM_16', keysize: '256', integ: undefined, prf: 'PRF_HMAC_SHA2_256', dh: 'ECP_256' },
    child: { encr: 'AES_GCM_16', keysize: '256', integ: undefined },
  },
  {
    ike: 'aes128gcm16-prfsha256-x25519',
    esp: 'aes128gcm16',
    ikeSa: { encr: 'AES_GCM_16', keysize: '128', integ: undefined, prf: 'PRF_HMAC_SHA2_256', dh: 'CURVE_25519' },
    child: { encr: 'AES_GCM_16', keysize: '128', integ: undefined },
  },
  {
    ike: 'aes256-sha256-modp2048',
    esp: 'aes256-sha256',
    ikeSa: { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', prf: 'PRF_HMAC_SHA2_256', dh: 'MODP_2048' },
    child: { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128' },
  },
  {
    ike: 'chacha20poly1305-prfsha256-x25519',
    esp: 'chacha20poly1305',
    ikeSa: { encr: 'CHACHA20_POLY1305', keysize: '', integ: undefined, prf: 'PRF_HMAC_SHA2_256', dh: 'CURVE_25519' },
    child: { encr: 'CHACHA20_POLY1305', keysize: '', integ: undefined },
  },
];

const CREDENTIALS = [
  { label: 'ECDSA', ...LAB_IPSEC.clients[0] },
  { label: 'RSA', ...LAB_IPSEC.clients[1] },
] as const;

const cluster = new LabCluster('ipx', 'unicast');
const work = mkdtempSync(join(tmpdir(), 'shoal-ipsec-lab-'));
const figures: string[] = [];
let sw: StrongSwan | null = null;
let pkiDir = '';
let caPem = '';

function figure(line: string): void {
  figures.push(line);
  console.log(`[ipsec-lab] ${line}`);
}

function client(): StrongSwan {
  if (sw === null) throw new Error('the shared strongSwan client is not running (beforeAll failed?)');
  return sw;
}

function connection(o: Partial<ClientConnection> & { proposals: string; espProposals: string }): ClientConnection {
  return { remoteAddr: CLUSTER.outsideAddress, localId: LAB_IPSEC.clients[0].name, certFile: LAB_IPSEC.clients[0].cert, remoteTs: REMOTE_TS, ...o };
}

/** Load `c` (replacing the previous connection), initiate it and return the established SA with the time it took. */
async function connect(c: ClientConnection): Promise<{ sa: IkeSa; ms: number }> {
  const s = client();
  s.writeConfig(clientSwanctlConf(c));
  await s.load();
  const t0 = performance.now();
  await s.initiate(c.name ?? 'home', 10);
  const ms = performance.now() - t0;
  const sas = await s.listSas();
  expect(sas, s.logTail()).toHaveLength(1);
  const sa = sas[0] as IkeSa;
  expect(sa.state).toBe('ESTABLISHED');
  expect(sa.localVips).toHaveLength(1);
  expect(sa.localVips[0]).toMatch(/^198\.19\.\d+\.\d+$/);
  expect(sa.children).toHaveLength(1);
  return { sa, ms };
}

async function disconnect(): Promise<void> {
  const s = client();
  if ((await s.listSas()).length === 0) return;
  await s.terminate('home');
  await s.waitForSas('terminated', (sas) => sas.length === 0, 5000);
}

/** Stop the shared client: one charon per namespace (IKE ports 500/4500, libipsec's ipsec0). */
async function releaseClientNamespace(): Promise<void> {
  await sw?.stop();
  sw = null;
}

async function pingApp(count = 3, source?: string): Promise<void> {
  const r = await ping(cluster.namespace('cl'), APP, { count, ...(source === undefined ? {} : { source }) });
  expect(r.received, `${r.output}\n${client().logTail(20)}`).toBe(r.sent);
}

beforeAll(async () => {
  requireBinaries([CHARON_BIN, SWANCTL_BIN, CHARON_CMD_BIN, '/usr/bin/tshark', '/usr/bin/tcpdump', '/usr/bin/iperf3', '/usr/bin/ping']);
  const keys = join(work, 'keys');
  mkdirSync(keys);
  await cluster.up(MEMBERS, MANY + 10, { espKeysFile: (i) => join(keys, `esp_sa.m${i}`) });
  pkiDir = cluster.members.pkiDir(cluster.name);
  caPem = readFileSync(join(pkiDir, 'ca.pem'), 'utf8');
  const s = await StrongSwan.start({ ns: cluster.namespace('cl'), dir: join(work, 'client'), name: 'client' });
  sw = s;
  for (const c of LAB_IPSEC.clients) {
    s.writeCredentials({ caPem, certPem: readFileSync(join(pkiDir, c.cert), 'utf8'), keyPem: readFileSync(join(pkiDir, c.key), 'utf8'), certFile: c.cert, keyFile: c.key });
  }
}, 120_000);

afterAll(async () => {
  if (figures.length > 0) console.log(`[ipsec-lab] figures:\n  ${figures.join('\n  ')}`);
  await tearDown(
    () => sw?.stop(),
    () => cluster.down(),
    () => rmSync(work, { recursive: true, force: true }),
  );
}, 60_000);

describe('strongSwan against the Shoal cluster', () => {
  for (const cred of CREDENTIALS) {
    for (const p of PROPOSALS) {
      it(`${cred.label} certificate, ${p.ike} / ${p.esp}: virtual address, ping, algorithms`, async () => {
        const { sa, ms } = await connect(connection({ proposals: p.ike, espProposals: p.esp, localId: cred.name, certFile: cred.cert }));
        try {
          figure(`connect ${cred.label} ${p.ike}/${p.esp}: ${ms.toFixed(0)} ms`);
          expect(sa.remoteId).toBe(LAB_IPSEC.serverName);
          expect(sa.localId).toBe(cred.name);
          expect({ encr: sa.encrAlg, keysize: sa.encrKeysize, integ: sa.integAlg, prf: sa.prfAlg, dh: sa.dhGroup }).toEqual(p.ikeSa);
          const child = sa.children[0];
          expect(child?.protocol).toBe('ESP');
          expect(child?.encap).toBe(true);
          expect({ encr: child?.encrAlg, keysize: child?.encrKeysize, integ: child?.integAlg }).toEqual(p.child);
          expect(child?.remoteTs).toEqual([REMOTE_TS]);
          expect(child?.localTs).toEqual([`${sa.localVips[0]}/32`]);
          await pingApp(5);
        } finally {
          await disconnect();
        }
      });
    }
  }

  it('PSK (psk1.shoal.test): both sides authenticate with the key, ping passes', async () => {
    const { sa, ms } = await connect(connection({ proposals: 'aes128gcm16-prfsha256-x25519', espProposals: 'aes256gcm16', localId: 'psk1.shoal.test', psk: LAB_IPSEC.pskSecret, remoteId: LAB_IPSEC.serverName }));
    try {
      figure(`connect PSK aes128gcm16-prfsha256-x25519/aes256gcm16: ${ms.toFixed(0)} ms`);
      expect(sa.localId).toBe('psk1.shoal.test');
      expect(sa.remoteId).toBe(LAB_IPSEC.serverName);
      await pingApp(3);
    } finally {
      await disconnect();
    }
  });

  it('a proposal the server does not allow (aes128-sha1-modp1024) is refused with NO_PROPOSAL_CHOSEN', async () => {
    const s = client();
    const noProp = (): number => (readFileSync(s.log, 'utf8').match(/received NO_PROPOSAL_CHOSEN notify error/g) ?? []).length;
    const before = noProp();
    s.writeConfig(clientSwanctlConf(connection({ proposals: 'aes128-sha1-modp1024', espProposals: 'aes128-sha1' })));
    await s.load(); // strongSwan itself accepts the proposal: the refusal is the server's
    await expect(s.initiate('home', 5)).rejects.toThrow(/NO_PROPOSAL_CHOSEN|establishing CHILD_SA 'home' failed/);
    expect(noProp()).toBe(before + 1);
    expect(await s.listSas()).toEqual([]);
  });

  it('iperf3 through the tunnel to the app host', async () => {
    const { sa } = await connect(connection({ proposals: PROPOSALS[0]?.ike ?? '', espProposals: PROPOSALS[0]?.esp ?? '' }));
    const server = new Foreground('iperf3 -s', cluster.namespace('ap'), ['iperf3', '-s', '-1', '-p', '5201']);
    try {
      await server.waitFor(/Server listening/, 5000);
      const vip = sa.localVips[0] ?? '';
      const r = await runIn(cluster.namespace('cl'), ['iperf3', '-c', APP, '-p', '5201', '-t', '3', '-B', vip, '-J']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number; bytes: number }; sum_sent: { retransmits?: number } } };
      const mbits = report.end.sum_received.bits_per_second / 1e6;
      figure(`iperf3 TCP 3 s, aes256gcm16, from ${vip}: ${mbits.toFixed(1)} Mbit/s received (${report.end.sum_sent.retransmits ?? '?'} retransmits)`);
      expect(report.end.sum_received.bytes).toBeGreaterThan(0);
      expect(mbits).toBeGreaterThan(0);
      expect(await server.ended(5000)).toBe(0);
    } finally {
      await server.stop();
      await disconnect();
    }
  });

  it('CHILD_SA rekey and IKE_SA rekey keep traffic flowing; new SPIs and unique IDs', async () => {
    const s = client();
    const { sa: first } = await connect(connection({ proposals: PROPOSALS[0]?.ike ?? '', espProposals: PROPOSALS[0]?.esp ?? '' }));
    try {
      await pingApp(3);
      const child0 = first.children[0];
      await s.rekeyChild('home');
      const [afterChild] = await s.waitForSas('CHILD_SA rekeyed', (sas) => {
        const c = sas[0]?.children;
        return sas.length === 1 && c?.length === 1 && c[0]?.state === 'INSTALLED' && c[0].spiIn !== child0?.spiIn;
      });
      const child1 = afterChild?.children[0];
      expect(child1?.uniqueId).not.toBe(child0?.uniqueId);
      expect(child1?.spiOut).not.toBe(child0?.spiOut);
      expect(afterChild?.responderSpi).toBe(first.responderSpi);
      await pingApp(3);

      await s.rekeyIke('home');
      const [afterIke] = await s.waitForSas('IKE_SA rekeyed', (sas) => sas.length === 1 && sas[0]?.state === 'ESTABLISHED' && sas[0].responderSpi !== first.responderSpi);
      expect(afterIke?.uniqueId).not.toBe(first.uniqueId);
      expect(afterIke?.initiatorSpi).not.toBe(first.initiatorSpi);
      expect(afterIke?.responderSpi).not.toBe(first.responderSpi);
      expect(afterIke?.children.map((c) => c.spiIn)).toEqual([child1?.spiIn]);
      expect(afterIke?.localVips).toEqual(first.localVips);
      await pingApp(3);
      figure(`rekeys: IKE responder SPI ${first.responderSpi} -> ${afterIke?.responderSpi}; CHILD SPI in ${child0?.spiIn} -> ${child1?.spiIn}`);
    } finally {
      await disconnect();
    }
  });

  it('a client-side capture is well-formed IKE + ESP, and decrypts with the keys the members export', async () => {
    const file = join(work, 'client.pcap');
    const capture = await FileCapture.start(cluster.namespace('cl'), 'c0', file, 'udp port 500 or udp port 4500');
    const spis: string[] = [];
    try {
      for (const p of [PROPOSALS[0], PROPOSALS[2]]) {
        const { sa } = await connect(connection({ proposals: p?.ike ?? '', espProposals: p?.esp ?? '' }));
        spis.push(sa.children[0]?.spiOut ?? '');
        await pingApp(3);
        await disconnect();
      }
    } finally {
      await capture.stop();
    }
    const count = async (filter: string, configDir?: string, extra: string[] = []): Promise<number> =>
      (await tshark(file, [...extra, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], configDir)).split('\n').filter((l) => l.trim() !== '').length;

    expect(await count('_ws.malformed')).toBe(0);
    const expert = await tshark(file, ['-q', '-z', 'expert,error']);
    expect(expert, expert).not.toMatch(/\bError\b/);
    expect(await count('isakmp.exchangetype == 34')).toBeGreaterThanOrEqual(4); // IKE_SA_INIT request + response, twice
    expect(await count('isakmp.exchangetype == 35')).toBeGreaterThanOrEqual(4); // IKE_AUTH
    expect(await count('esp')).toBeGreaterThanOrEqual(12); // 3 echo requests + replies, twice

    const configDir = join(work, 'wireshark');
    mkdirSync(configDir);
    const keyLines = Array.from({ length: MEMBERS }, (_, k) => {
      try {
        return readFileSync(join(work, 'keys', `esp_sa.m${k + 1}`), 'utf8');
      } catch {
        return '';
      }
    }).join('');
    writeFileSync(join(configDir, 'esp_sa'), keyLines);
    for (const spi of spis) expect(keyLines, `no exported key line for our outbound SPI 0x${spi}`).toContain(`0x${spi}`);
    const decrypt = ['-o', 'esp.enable_encryption_decode:TRUE'];
    const requests = await count(`icmp.type == 8 && ip.dst == ${APP}`, configDir, decrypt);
    const replies = await count(`icmp.type == 0 && ip.src == ${APP}`, configDir, decrypt);
    figure(`capture: decrypted ${requests} echo requests and ${replies} echo replies (GCM and CBC+HMAC SAs)`);
    expect(requests).toBeGreaterThanOrEqual(6);
    expect(replies).toBeGreaterThanOrEqual(6);
    expect(await count('_ws.malformed', configDir, decrypt)).toBe(0);
  });

  it('charon-cmd (RSA) connects although it changes source port between IKE_SA_INIT and IKE_AUTH', async () => {
    await releaseClientNamespace();
    const dir = join(work, 'charon-cmd');
    mkdirSync(dir);
    const conf = join(dir, 'strongswan.conf');
    writeFileSync(conf, `charon-cmd {\n  load = ${CHARON_PLUGINS.filter((p) => p !== 'vici').join(' ')}\n  install_routes = yes\n  plugins { kernel-libipsec { allow_peer_ts = no } }\n}\n`);
    const rsa = LAB_IPSEC.clients[1];
    const cmd = new Foreground('charon-cmd', cluster.namespace('cl'), [
      CHARON_CMD_BIN,
      '--host', CLUSTER.outsideAddress,
      '--identity', rsa.name,
      '--remote-identity', LAB_IPSEC.serverName,
      '--cert', join(pkiDir, rsa.cert),
      '--cert', join(pkiDir, 'ca.pem'),
      '--rsa', join(pkiDir, rsa.key),
      '--profile', 'ikev2-pub',
      '--remote-ts', REMOTE_TS,
    ], { STRONGSWAN_CONF: conf });
    try {
      const t0 = performance.now();
      await cmd.waitFor(/CHILD_SA cmd\{\d+\} established/, 15_000);
      figure(`charon-cmd connect: ${(performance.now() - t0).toFixed(0)} ms (including its start-up)`);
      const r = await ping(cluster.namespace('cl'), APP, { count: 3 });
      expect(r.received, `${r.output}\n${cmd.output.slice(-3000)}`).toBe(r.sent);
      const portAfter = (exchange: string): number => {
        const at = cmd.output.indexOf(`generating ${exchange} request`);
        const m = /sending packet: from [\d.]+\[(\d+)\]/.exec(cmd.output.slice(at));
        return at < 0 || m === null ? -1 : Number(m[1]);
      };
      const init = portAfter('IKE_SA_INIT');
      const auth = portAfter('IKE_AUTH');
      figure(`charon-cmd source ports: IKE_SA_INIT from ${init}, IKE_AUTH from ${auth}`);
      expect(init).toBeGreaterThan(0);
      expect(auth).toBeGreaterThan(0);
      expect(auth).not.toBe(init);
    } finally {
      await cmd.stop();
    }
  });

  it(`${MANY} clients at once, spread over the members, all pass traffic`, async () => {
    const ca = await loadCa(join(pkiDir, 'ca.pem'), join(pkiDir, 'ca.key'));
    const { issueEndpoint } = await import('../../src/pki/endpoint.js');
    const notBefore = new Date(Date.now() - 86_400_000);
    const notAfter = new Date(Date.now() + 86_400_000);
    await releaseClientNamespace();
    // One charon worker per waiting initiation on top of its own: with fewer, the answers wait unread (see charonThreads).
    const many = await StrongSwan.start({ ns: cluster.namespace('cl'), dir: join(work, 'many'), name: 'many', initiations: AT_ONCE });
    try {
      const conns: ClientConnection[] = [];
      for (let k = 0; k < MANY; k++) {
        const id = `rw${k}.shoal.test`;
        const b = await issueEndpoint(ca, { commonName: id, dnsNames: [id], notBefore, notAfter });
        many.writeCredentials({ caPem, certPem: b.certPem, keyPem: b.keyPem, certFile: `rw${k}.pem`, keyFile: `rw${k}.key` });
        conns.push({
          name: `rw${k}`,
          remoteAddr: CLUSTER.outsideAddress,
          localAddrs: addressAfter(LAB_ADDRESSES.clientExtraFirst, k),
          proposals: 'aes256gcm16-prfsha256-ecp256',
          espProposals: 'aes256gcm16',
          localId: id,
          certFile: `rw${k}.pem`,
          remoteTs: REMOTE_TS,
        });
      }
      many.writeConfig(clientSwanctlConfMany(conns));
      await many.load();
      const t0 = performance.now();
      const initiated = await pool(conns, AT_ONCE, (c) =>
        many.initiate(c.name ?? '', 15).then(
          () => null,
          (e: unknown) => ({ conn: c, error: String(e).split('\n--- tail of')[0] ?? '' }),
        ),
      );
      const setupMs = performance.now() - t0;
      const notUp = initiated.filter((x) => x !== null);
      if (notUp.length > 0) {
        const first = notUp[0];
        const addr = first?.conn.localAddrs ?? '?';
        const memberLines = Array.from({ length: MEMBERS }, (_, k) => {
          const log = readFileSync(cluster.members.files(cluster.name, k + 1).log, 'utf8');
          // The client's own lines, and the membership changes (a watchdog expiring under load moves units mid-handshake).
          return log
            .split('\n')
            .filter((l) => l.includes(`"${addr}`) || l.includes(`${addr}:`) || /"event":"(member-removed|joining|became-master|ipsec\.released|ipsec\.takeover)"/.test(l))
            .map((l) => `m${k + 1} ${l}`);
        }).flat();
        const statusCli = cluster.members.distFile('src/mgmt/cli/main.js');
        const counters: string[] = [];
        for (let k = 1; k <= MEMBERS; k++) counters.push(`m${k} ${JSON.stringify((await memberIpsec(statusCli, cluster.members.files(cluster.name, k).socket)).counters)}`);
        expect.fail(
          `counters:\n${counters.join('\n')}\n` +
          `${notUp.length} of ${MANY} did not come up: ${notUp.map((x) => `${x.conn.name ?? ''}@${x.conn.localAddrs ?? ''}`).join(' ')}\n` +
            `--- first: ${first?.error ?? ''}\n--- member log lines naming ${addr}, and membership changes:\n${memberLines.slice(-40).join('\n')}`,
        );
      }
      const sas = await many.listSas();
      expect(sas.filter((sa) => sa.state === 'ESTABLISHED' && sa.children.length === 1)).toHaveLength(MANY);
      const vips = sas.map((sa) => sa.localVips[0] ?? '');
      expect(new Set(vips).size).toBe(MANY);
      for (const sa of sas) expect(sa.localHost).toBe(conns.find((c) => c.name === sa.name)?.localAddrs);
      figure(`${MANY} clients set up in ${setupMs.toFixed(0)} ms (${AT_ONCE} at a time): ${((MANY * 1000) / setupMs).toFixed(1)} SA/s`);

      const pings = await pool(vips, 10, (vip) => ping(cluster.namespace('cl'), APP, { count: 2, source: vip }));
      const failed = pings.map((p, k) => ({ vip: vips[k], ...p })).filter((p) => p.received !== p.sent);
      expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);

      const cli = cluster.members.distFile('src/mgmt/cli/main.js');
      const perMember = await Promise.all(Array.from({ length: MEMBERS }, (_, k) => memberIpsec(cli, cluster.members.files(cluster.name, k + 1).socket)));
      figure(`IKE SAs per member with ${MANY} clients: ${perMember.map((m, k) => `m${k + 1}=${m.sas}`).join(' ')}`);
      for (const m of perMember) expect(m.sas).toBeGreaterThan(0);
      expect(perMember.reduce((a, m) => a + m.sas, 0)).toBeGreaterThanOrEqual(MANY);
    } finally {
      await many.stop();
    }
  });

  it('a flood of IKE_SA_INIT from many sources gets cookies, and an established tunnel keeps passing traffic', async () => {
    await releaseClientNamespace();
    sw = await StrongSwan.start({ ns: cluster.namespace('cl'), dir: join(work, 'flood'), name: 'flood victim' });
    client().writeCredentials({ caPem, certPem: readFileSync(join(pkiDir, LAB_IPSEC.clients[0].cert), 'utf8'), keyPem: readFileSync(join(pkiDir, LAB_IPSEC.clients[0].key), 'utf8'), certFile: LAB_IPSEC.clients[0].cert });
    await connect(connection({ name: 'home', proposals: 'aes256gcm16-prfsha256-ecp256', espProposals: 'aes256gcm16' }));
    const init = readFileSync(join(process.cwd(), 'test/apps/ipsec/fixtures-strongswan/ecdsa-gcm-001-c2s-500-ike-sa-init-request.hex'), 'utf8').trim();
    const pinger = runIn(cluster.namespace('cl'), ['ping', '-n', '-q', '-i', '0.01', '-w', '5', '-W', '1', APP]);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const flooded = await runIn(cluster.namespace('cl'), [process.execPath, join(process.cwd(), 'dist/test/support/ike-flood.js'), LAB_ADDRESSES.clientExtraFirst, String(MANY + 10), '3000', CLUSTER.outsideAddress, init]);
    const floodMs = performance.now() - t0;
    expect(flooded.code, flooded.stderr).toBe(0);
    const sent = (JSON.parse(flooded.stdout) as { sent: number }).sent;
    const p = await pinger;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(p.stdout);
    const [transmitted, received] = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
    const cli = cluster.members.distFile('src/mgmt/cli/main.js');
    const members = await Promise.all(Array.from({ length: MEMBERS }, (_, k) => memberIpsec(cli, cluster.members.files(cluster.name, k + 1).socket)));
    const cookies = members.reduce((n, x) => n + (x.counters['ike.sa-init.cookie-sent'] ?? 0), 0);
    const halfOpen = members.reduce((n, x) => n + (x.counters['ike.sa-init.ok'] ?? 0), 0);
    figure(`IKE_SA_INIT flood: ${sent} requests from ${MANY + 10} addresses in ${floodMs.toFixed(0)} ms; ${cookies} answered with a cookie; tunnel ping ${received}/${transmitted} during it`);
    expect(cookies).toBeGreaterThan(sent / 2);
    // Every member stopped creating half-open SAs at its threshold (64), plus the real clients' SAs.
    for (const x of members) expect(x.sas).toBeLessThanOrEqual(64 + MANY + 2);
    expect(halfOpen).toBeLessThan(sent);
    expect(received / transmitted).toBeGreaterThan(0.95);
    await disconnect();
  });
});
