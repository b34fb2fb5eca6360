/**
 * What `swanctl --list-sas --raw` prints, parsed: the raw form is the vici
 * message tree printed as `key=value`, `key{...}` and `key[...]`, stable
 * across versions (it is the wire structure, not a human layout), unlike the
 * default pretty listing.
 */
export interface ChildSa {
  name: string;
  uniqueId: string;
  state: string;
  protocol: string;
  encap: boolean;
  spiIn: string;
  spiOut: string;
  encrAlg: string;
  encrKeysize: string;
  integAlg: string | undefined;
  dhGroup: string | undefined;
  localTs: string[];
  remoteTs: string[];
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/** One IKE_SA as `--list-sas` reports it. */
export interface IkeSa {
  name: string;
  uniqueId: string;
  state: string;
  localHost: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
  localId: string;
  remoteId: string;
  initiatorSpi: string;
  responderSpi: string;
  encrAlg: string;
  encrKeysize: string;
  integAlg: string | undefined;
  prfAlg: string;
  dhGroup: string;
  natAny: boolean;
  /** The virtual addresses this side got (an initiator) or handed out (a responder). */
  localVips: string[];
  remoteVips: string[];
  children: ChildSa[];
}

/** A vici message tree: sections, values and lists. */
export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

/**
 * Parse swanctl's --raw output: one line per message, e.g.
 * `list-sa event {home {uniqueid=1 state=ESTABLISHED local-vips=[198.18.102.1] child-sas {home-1 {...}}}}`
 * (sections `key {…}`, lists `key=[a b]`, values `key=v`). A value runs to
 * the next ` key=` / ` key {` or closing brace, so values with spaces
 * (distinguished names) survive; list items never contain spaces.
 * Returns one tree per line (the "list-sa event" prefix dropped).
 */
export function parseVici(raw: string): ViciSection[] {
  const out: ViciSection[] = [];
  for (const line of raw.split('\n')) {
    const open = line.indexOf('{');
    if (open < 0) continue;
    const p = new ViciParser(line, open + 1);
    out.push(p.section());
  }
  return out;
}

class ViciParser {
  constructor(
    private readonly s: string,
    private i: number,
  ) {}

  section(): ViciSection {
    const sec: ViciSection = {};
    for (;;) {
      this.skipSpace();
      if (this.i >= this.s.length) return sec;
      if (this.s[this.i] === '}') {
        this.i++;
        return sec;
      }
      const key = this.key();
      const c = this.s[this.i];
      this.i++;
      if (c === '{') sec[key] = this.section();
      else if (c === '[') sec[key] = this.list();
      else if (c === '=' && this.s[this.i] === '[') {
        this.i++;
        sec[key] = this.list();
      } else if (c === '=') sec[key] = this.value();
      else throw new Error(`vici parse: unexpected ${JSON.stringify(c)} after ${key} at ${this.i} in ${this.s}`);
    }
  }

  private skipSpace(): void {
    while (this.s[this.i] === ' ') this.i++;
  }

  private key(): string {
    const m = /^[^\s={[\]}]+/.exec(this.s.slice(this.i));
    if (m === null) throw new Error(`vici parse: no key at ${this.i} in ${this.s}`);
    this.i += m[0].length;
    this.skipSpace();
    return m[0];
  }

  private list(): string[] {
    const items: string[] = [];
    for (;;) {
      this.skipSpace();
      if (this.i >= this.s.length) return items;
      if (this.s[this.i] === ']') {
        this.i++;
        return items;
      }
      const m = /^[^\s\]]+/.exec(this.s.slice(this.i));
      if (m === null) throw new Error(`vici parse: bad list at ${this.i} in ${this.s}`);
      items.push(m[0]);
      this.i += m[0].length;
    }
  }

  /**
   * A value ends before ` key=`, ` key {`, or the `}` that closes the section;
   * vici keys are lower-case words, and the `, ` in front of a distinguished
   * name's next RDN (`C=XX, O=Shoal, CN=vpn`) is not a key boundary.
   */
  private value(): string {
    const rest = this.s.slice(this.i);
    const end = /((?<!,) [a-z][a-z0-9_-]* ?[={])|(\s*\})/.exec(rest);
    const v = end === null ? rest : rest.slice(0, end.index);
    this.i += v.length;
    return v;
  }
}

function str(sec: ViciSection, key: string): string | undefined {
  const v = sec[key];
  return typeof v === 'string' ? v : undefined;
}
function req(sec: ViciSection, key: string): string {
  return str(sec, key) ?? '';
}
function list(sec: ViciSection, key: string): string[] {
  const v = sec[key];
  return Array.isArray(v) ? v : [];
}
function sub(sec: ViciSection, key: string): ViciSection {
  const v = sec[key];
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

/** The IKE_SAs (with their CHILD_SAs) of a `swanctl --list-sas --raw` listing. */
export function parseListSas(raw: string): IkeSa[] {
  const sas: IkeSa[] = [];
  for (const event of parseVici(raw)) {
    for (const [name, v] of Object.entries(event)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const children = Object.entries(sub(v, 'child-sas')).flatMap(([key, c]): ChildSa[] =>
        typeof c === 'object' && !Array.isArray(c)
          ? [
              {
                name: str(c, 'name') ?? key,
                uniqueId: req(c, 'uniqueid'),
                state: req(c, 'state'),
                protocol: req(c, 'protocol'),
                encap: str(c, 'encap') === 'yes',
                spiIn: req(c, 'spi-in'),
                spiOut: req(c, 'spi-out'),
                encrAlg: req(c, 'encr-alg'),
                encrKeysize: req(c, 'encr-keysize'),
                integAlg: str(c, 'integ-alg'),
                dhGroup: str(c, 'dh-group'),
                localTs: list(c, 'local-ts'),
                remoteTs: list(c, 'remote-ts'),
                bytesIn: Number(str(c, 'bytes-in') ?? 0),
                bytesOut: Number(str(c, 'bytes-out') ?? 0),
                packetsIn: Number(str(c, 'packets-in') ?? 0),
                packetsOut: Number(str(c, 'packets-out') ?? 0),
              },
            ]
          : [],
      );
      sas.push({
        name,
        uniqueId: req(v, 'uniqueid'),
        state: req(v, 'state'),
        localHost: req(v, 'local-host'),
        localPort: Number(str(v, 'local-port') ?? 0),
        remoteHost: req(v, 'remote-host'),
        remotePort: Number(str(v, 'remote-port') ?? 0),
        localId: req(v, 'local-id'),
        remoteId: req(v, 'remote-id'),
        initiatorSpi: req(v, 'initiator-spi'),
        responderSpi: req(v, 'responder-spi'),
        encrAlg: req(v, 'encr-alg'),
        encrKeysize: req(v, 'encr-keysize'),
        integAlg: str(v, 'integ-alg'),
        prfAlg: req(v, 'prf-alg'),
        dhGroup: req(v, 'dh-group'),
        natAny: str(v, 'nat-any') === 'yes',
        localVips: list(v, 'local-vips'),
        remoteVips: list(v, 'remote-vips'),
        children,
      });
    }
  }
  return sas;
}

