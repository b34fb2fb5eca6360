/**
 * A personality from a member's daemon configuration file (what `shoal flash
 * build` does): the configuration, checked by the daemon's own parser, and
 * every file it names, read and folded into the image's sections.
 *
 *   m1.json ─► parseDaemonConfig ─► member chain + key, trusted CAs, member lists,
 *          │                        ipsec certificate/key/client CAs/CRLs → file sections
 *          └► stored document: paths replaced by image names, lists moved to their section
 *   then: no development certificates, the policy holds, the whole personality checks.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDaemonConfig } from '../daemon/config.js';
import { loadCredentials } from '../daemon/credentials.js';
import { ShoalError } from '../lib/errors.js';
import type { LogArea, Personality, PersonalityFile, SecurityPolicy } from '../wire/flash-image-sections.js';
import { fileRefs, parseConfigDoc, storedConfig, type ConfigDoc } from './config-files.js';
import { refuseDevelopmentKeys } from './dev-keys.js';
import { checkPersonality } from './personality-check.js';
import { defaultPolicy } from './policy.js';

export const DEFAULT_LOG_AREA: LogArea = { path: '/var/lib/shoal/error-log', offset: 0, length: 1024 * 1024 };

export interface BuildOptions {
  configPath: string;
  softwareDigest: Uint8Array;
  policy?: SecurityPolicy;
  logArea?: LogArea;
}

function readDoc(path: string): ConfigDoc {
  try {
    return parseConfigDoc(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ShoalError('BAD_CONFIG', `cannot read configuration ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readFile(path: string, field: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new ShoalError('BAD_CONFIG', `config: ${field}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function buildPersonality(o: BuildOptions): Personality {
  const raw = readDoc(o.configPath);
  const base = dirname(resolve(o.configPath));
  const at = (p: string): string => resolve(base, p);
  const cfg = parseDaemonConfig(raw, at);
  const ipsec = raw.ipsec as Record<string, unknown> | undefined;
  if (ipsec?.espKeysFile !== undefined) {
    throw new ShoalError('BAD_CONFIG', 'config: ipsec.espKeysFile writes session keys to disk for debugging and has no place in a personality');
  }
  const doc = storedConfig(structuredClone(raw));
  const cluster = { ...(doc.cluster as Record<string, unknown>), configVersion: cfg.configVersion };
  doc.cluster = cluster;
  const files: PersonalityFile[] = fileRefs(doc).map((ref) => {
    const data = readFile(at(ref.value), ref.field);
    ref.rename(ref.name);
    return { name: ref.name, secret: ref.secret, data };
  });
  // The daemon's own loader: the member chain, key, CAs and member CRLs read as the daemon will read them.
  const { credentials, trust } = loadCredentials(cfg);
  const memberKey = new Uint8Array(credentials.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const p: Personality = {
    softwareDigest: o.softwareDigest,
    configVersion: cfg.configVersion,
    configText: `${JSON.stringify(doc, null, 2)}\n`,
    memberChain: credentials.chain,
    memberKey,
    trustedCas: trust.caCertificates,
    allowedMembers: cfg.allowedMembers ?? null,
    revokedSerials: cfg.revokedSerials,
    policy: o.policy ?? defaultPolicy(),
    logArea: o.logArea ?? DEFAULT_LOG_AREA,
    files,
  };
  refuseDevelopmentKeys(p);
  checkPersonality(p);
  return p;
}
