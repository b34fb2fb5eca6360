/**
 * Is a (signed, decoded) personality one the daemon can run? Checked at
 * build, verify and boot, before anything is written: the config version
 * section agrees with the configuration, the configuration keeps the
 * security policy, every file it names is carried (keys marked secret), the
 * member key belongs to the member certificate, and the daemon's own parser
 * accepts the configuration as it will be materialised.
 */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { parseDaemonConfig, type DaemonConfig } from '../daemon/config.js';
import { ShoalError } from '../lib/errors.js';
import type { Personality } from '../wire/flash-image-sections.js';
import { bytesEqual } from '../lib/bytes.js';
import { fileRefs, materialisedConfig, parseConfigDoc, RESERVED_FILES, statedConfigVersion } from './config-files.js';
import { checkPolicy } from './policy.js';
import { parsePrivateKey, publicKeySha256 } from './x509-text.js';

function refuse(why: string): never {
  throw new ShoalError('FLASH_CONFIG', `personality: ${why}`);
}

function certificate(der: Uint8Array, where: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    return refuse(`${where} is not a readable certificate (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The software digest the box runs must be the one the personality names. */
export function checkSoftwareDigest(p: Personality, running: Uint8Array): void {
  if (!bytesEqual(p.softwareDigest, running)) {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    throw new ShoalError('FLASH_SOFTWARE_DIGEST', `software digest mismatch: the personality requires sha256:${hex(p.softwareDigest)}, this software is sha256:${hex(running)}`);
  }
}

/** The daemon configuration this personality boots into (paths under `runtimeDir`); throws naming the first problem. */
export function checkPersonality(p: Personality, runtimeDir = '/run/shoal/personality'): DaemonConfig {
  const doc = parseConfigDoc(p.configText);
  const stated = statedConfigVersion(doc);
  if (stated !== p.configVersion) refuse(`config-version section says ${p.configVersion} but the configuration's cluster.configVersion is ${JSON.stringify(stated)}`);
  checkPolicy(p.policy, doc);
  for (const f of p.files) if (RESERVED_FILES.includes(f.name)) refuse(`file '${f.name}' would overwrite a file the personality itself writes`);
  for (const ref of fileRefs(doc)) {
    const file = p.files.find((f) => f.name === ref.value);
    if (file === undefined) refuse(`configuration ${ref.field} names '${ref.value}', which the image does not carry`);
    if (ref.secret && !file.secret) refuse(`file '${file.name}' (${ref.field}) holds a private key but is not marked secret`);
  }
  const leaf = certificate(p.memberChain[0] ?? new Uint8Array(0), 'member-chain[0]');
  p.memberChain.slice(1).forEach((der, i) => certificate(der, `member-chain[${i + 1}]`));
  p.trustedCas.forEach((der, i) => certificate(der, `trusted-cas[${i}]`));
  const key = parsePrivateKey(p.memberKey);
  if (key === null) refuse('member-key is not a readable PKCS#8 private key');
  if (publicKeySha256(key) !== publicKeySha256(leaf.publicKey)) refuse(`member key does not belong to the member certificate (${leaf.subject.replace(/\n/g, ', ')})`);
  try {
    return parseDaemonConfig(materialisedConfig(p), (path) => resolve(runtimeDir, path));
  } catch (e) {
    if (e instanceof ShoalError) refuse(e.message);
    throw e;
  }
}
