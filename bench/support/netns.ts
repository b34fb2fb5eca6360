/**
 * The strongSwan responder's own namespaces for the side-by-side IPsec
 * benches, laid out like the Shoal lab (same addresses, same hops) so one
 * client configuration fits both:
 *
 *   <p>cl ──c0═c0── <p>rt ──o0═o0── <p>rs (charon-systemd) ──i0═i0── <p>ap
 *   198.18.16.2/20  198.18.16.1/20   198.18.1.10/24  198.18.2.1/24    198.18.2.100/24
 *                   198.18.1.1/24    (kernel-libipsec: ESP in userspace on ipsec0)
 *
 * The Shoal lab has a switch bridge between router, members and app host;
 * here the responder sits on plain veths. Every name starts with the
 * per-run prefix `<p>` and every address is in 198.18.0.0/15; down() deletes
 * exactly the namespaces up() made, and is safe to call twice.
 */
import { existsSync } from 'node:fs';
import { NodeCommandRunner } from '../../src/ports/command-node.js';

const runner = new NodeCommandRunner();

export const STRONGSWAN_SIDE = {
  client: '198.18.16.2',
  clientPrefix: 20,
  router: '198.18.16.1',
  routerOuter: '198.18.1.1',
  responder: '198.18.1.10',
  responderInside: '198.18.2.1',
  appHost: '198.18.2.100',
} as const;

/** Run argv in the root namespace; throws with its output on a non-zero exit. */
export async function must(argv: readonly string[]): Promise<string> {
  const r = await runner.run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}\n${(r.stdout + r.stderr).trim()}`);
  return r.stdout;
}

/** Run argv inside namespace `ns`; throws with its output on a non-zero exit. */
export function mustIn(ns: string, argv: readonly string[]): Promise<string> {
  return must(['ip', 'netns', 'exec', ns, ...argv]);
}

/** Fail loudly, naming the packages, when a tool the IPsec benches need is missing. */
export function requireTools(paths: readonly string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: the IPsec benches need strongSwan and iperf3 ` +
        '(apt-get install -y --no-install-recommends strongswan-swanctl charon-systemd libcharon-extra-plugins libstrongswan-extra-plugins iperf3 util-linux)',
    );
  }
  if (process.geteuid?.() !== 0) throw new Error('the IPsec benches need root (network namespaces)');
}

export class ResponderNamespaces {
  readonly made: string[] = [];
  private constructor(readonly prefix: string) {}

  ns(node: 'cl' | 'rt' | 'rs' | 'ap'): string {
    return `${this.prefix}${node}`;
  }

  /** Build the four namespaces; on a failure part-way, deletes what it made and rethrows. */
  static async up(prefix: string): Promise<ResponderNamespaces> {
    const t = new ResponderNamespaces(prefix);
    try {
      await t.build();
    } catch (e) {
      await t.down();
      throw e;
    }
    return t;
  }

  private async build(): Promise<void> {
    const S = STRONGSWAN_SIDE;
    for (const n of ['cl', 'rt', 'rs', 'ap'] as const) {
      await must(['ip', 'netns', 'add', this.ns(n)]);
      this.made.push(this.ns(n));
      await must(['ip', '-n', this.ns(n), 'link', 'set', 'lo', 'up']);
      await mustIn(this.ns(n), ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const link = async (a: string, da: string, b: string, db: string): Promise<void> => {
      await must(['ip', 'link', 'add', da, 'netns', a, 'type', 'veth', 'peer', 'name', db, 'netns', b]);
      await must(['ip', '-n', a, 'link', 'set', da, 'up']);
      await must(['ip', '-n', b, 'link', 'set', db, 'up']);
    };
    await link(this.ns('cl'), 'c0', this.ns('rt'), 'c0');
    await link(this.ns('rt'), 'o0', this.ns('rs'), 'o0');
    await link(this.ns('rs'), 'i0', this.ns('ap'), 'i0');
    const addr = (n: 'cl' | 'rt' | 'rs' | 'ap', dev: string, cidr: string): Promise<string> => must(['ip', '-n', this.ns(n), 'addr', 'add', cidr, 'dev', dev]);
    await addr('cl', 'c0', `${S.client}/${S.clientPrefix}`);
    await addr('rt', 'c0', `${S.router}/${S.clientPrefix}`);
    await addr('rt', 'o0', `${S.routerOuter}/24`);
    await addr('rs', 'o0', `${S.responder}/24`);
    await addr('rs', 'i0', `${S.responderInside}/24`);
    await addr('ap', 'i0', `${S.appHost}/24`);
    await must(['ip', '-n', this.ns('cl'), 'route', 'add', 'default', 'via', S.router]);
    await must(['ip', '-n', this.ns('rs'), 'route', 'add', 'default', 'via', S.routerOuter]);
    await must(['ip', '-n', this.ns('ap'), 'route', 'add', 'default', 'via', S.responderInside]);
    for (const n of ['rt', 'rs'] as const) await mustIn(this.ns(n), ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  /** Delete the namespaces this run made (their veths go with them). Errors are collected, not thrown. */
  async down(): Promise<string[]> {
    const errors: string[] = [];
    while (this.made.length > 0) {
      const ns = this.made.pop()!;
      const r = await runner.run(['ip', 'netns', 'del', ns]);
      if (r.code !== 0) errors.push(`ip netns del ${ns}: ${(r.stdout + r.stderr).trim()}`);
    }
    return errors;
  }
}
