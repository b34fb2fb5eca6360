/**
 * The personality's security policy and the check of a configuration
 * against it (at build, verify and boot): which tunnel protocols may run,
 * which IPsec algorithms the proposals may use, and whether every proposal
 * must encrypt. Checked on the raw JSON document, before the daemon parses
 * it, so the message names the policy rule rather than a parse error.
 *
 * Policy file (`shoal flash build --policy`):
 *   { "protocols": ["ipsec"], "requireEncryption": true,
 *     "ikeAlgorithms": ["aes256gcm16", "prfsha256", "ecp256", …], "espAlgorithms": ["aes256gcm16", …] }
 */
import { DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS } from '../apps/ipsec/config-file.js';
import { SUPPORTED_DH_GROUPS, SUPPORTED_ENCRYPTIONS, SUPPORTED_INTEGRITIES, SUPPORTED_PRFS } from '../apps/ipsec/crypto/transforms.js';
import { ShoalError } from '../lib/errors.js';
import { TUNNEL_PROTOCOLS, type SecurityPolicy, type TunnelProtocol } from '../wire/flash-image-sections.js';

/** The "no encryption" transform (ENCR_NULL, RFC 2410) as strongSwan spells it in proposals. */
const NULL_CIPHER = 'null';
/** ESP proposal tokens that choose sequence-number width, not an algorithm. */
const ESN_TOKENS = new Set(['esn', 'noesn']);

const names = (list: readonly { name: string }[]): string[] => list.map((x) => x.name);
const IKE_TOKENS = [...names(SUPPORTED_ENCRYPTIONS), ...names(SUPPORTED_INTEGRITIES), ...names(SUPPORTED_PRFS), ...names(SUPPORTED_DH_GROUPS)];
const ESP_TOKENS = [...names(SUPPORTED_ENCRYPTIONS), ...names(SUPPORTED_INTEGRITIES), ...names(SUPPORTED_DH_GROUPS)];

/** Every protocol this software runs, every algorithm it implements, encryption required. */
export function defaultPolicy(): SecurityPolicy {
  return { protocols: ['ipsec'], requireEncryption: true, ikeAlgorithms: [...IKE_TOKENS], espAlgorithms: [...ESP_TOKENS] };
}

/** "curve25519" is another spelling of "x25519". */
function canonical(token: string): string {
  const t = token.toLowerCase();
  return t === 'curve25519' ? 'x25519' : t;
}

function badPolicy(field: string, why: string): never {
  throw new ShoalError('BAD_POLICY', `policy: ${field}: ${why}`);
}

function tokenList(v: unknown, field: string, known: readonly string[]): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) badPolicy(field, 'must be a list of algorithm names');
  return (v as string[]).map((t) => {
    const c = canonical(t);
    if (c !== NULL_CIPHER && !known.includes(c)) badPolicy(field, `unknown algorithm '${t}' (known: ${known.join(', ')}, null)`);
    return c;
  });
}

/** A policy document (JSON), every field checked; missing fields take the default's value. */
export function parsePolicy(raw: unknown): SecurityPolicy {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) badPolicy('(document)', 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  const known = ['protocols', 'requireEncryption', 'ikeAlgorithms', 'espAlgorithms'];
  for (const k of Object.keys(o)) if (!known.includes(k)) badPolicy(k, `unknown setting (known: ${known.join(', ')})`);
  const d = defaultPolicy();
  let protocols = d.protocols;
  if (o.protocols !== undefined) {
    if (!Array.isArray(o.protocols) || o.protocols.some((p) => !(TUNNEL_PROTOCOLS as readonly unknown[]).includes(p))) {
      badPolicy('protocols', `must be a list of ${TUNNEL_PROTOCOLS.join(', ')}`);
    }
    protocols = TUNNEL_PROTOCOLS.filter((p) => (o.protocols as unknown[]).includes(p));
  }
  if (o.requireEncryption !== undefined && typeof o.requireEncryption !== 'boolean') badPolicy('requireEncryption', 'must be true or false');
  return {
    protocols,
    requireEncryption: (o.requireEncryption as boolean | undefined) ?? d.requireEncryption,
    ikeAlgorithms: o.ikeAlgorithms === undefined ? d.ikeAlgorithms : tokenList(o.ikeAlgorithms, 'ikeAlgorithms', IKE_TOKENS),
    espAlgorithms: o.espAlgorithms === undefined ? d.espAlgorithms : tokenList(o.espAlgorithms, 'espAlgorithms', ESP_TOKENS),
  };
}

function refuse(why: string): never {
  throw new ShoalError('FLASH_POLICY', `security policy: ${why}`);
}

function checkProposals(names: unknown, fallback: readonly string[], field: string, allowed: readonly string[], p: SecurityPolicy, skip: Set<string>): void {
  const list = names === undefined ? fallback : names;
  if (!Array.isArray(list)) return; // the daemon's own parser names the bad field
  list.forEach((name: unknown, i) => {
    if (typeof name !== 'string') return;
    const where = `${field}[${i}] '${name}'${names === undefined ? ' (a default)' : ''}`;
    const tokens = name.split('-').map(canonical).filter((t) => !skip.has(t));
    if (p.requireEncryption && tokens.includes(NULL_CIPHER)) refuse(`${where} has no encryption (null), but the policy requires encryption`);
    const banned = tokens.find((t) => !allowed.includes(t));
    if (banned !== undefined) refuse(`${where} uses ${banned}, which the policy does not allow`);
  });
}

/** Throws FLASH_POLICY naming the first rule the configuration breaks. */
export function checkPolicy(p: SecurityPolicy, config: Record<string, unknown>): void {
  for (const proto of TUNNEL_PROTOCOLS) {
    if (config[proto] !== undefined && !p.protocols.includes(proto as TunnelProtocol)) refuse(`tunnel protocol ${proto} is configured but not allowed`);
  }
  const ipsec = config.ipsec;
  if (typeof ipsec !== 'object' || ipsec === null) return;
  const o = ipsec as Record<string, unknown>;
  checkProposals(o.ikeProposals, DEFAULT_IKE_PROPOSALS, 'ipsec.ikeProposals', p.ikeAlgorithms, p, new Set());
  checkProposals(o.espProposals, DEFAULT_ESP_PROPOSALS, 'ipsec.espProposals', p.espAlgorithms, p, ESN_TOKENS);
}
