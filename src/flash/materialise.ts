/**
 * Writes a checked personality out as the files `startDaemon(configPath)`
 * reads (layout in config-files.ts). All of it goes into a fresh private
 * directory beside the runtime directory, is read back by the daemon's own
 * loaders, and only then renamed into place: a failure leaves the previous
 * runtime directory (or none), never a half-written one. Boot stages each
 * slot it tries as part of that slot's check, so a personality the loaders
 * refuse is rolled back like any other failure.
 */
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDaemonConfig } from '../daemon/config.js';
import { loadCredentials } from '../daemon/credentials.js';
import { ShoalError } from '../lib/errors.js';
import { certificatePem } from '../pki/pem.js';
import type { Personality } from '../wire/flash-image-sections.js';
import { CONFIG_FILE, MEMBER_CERT_FILE, MEMBER_KEY_FILE, materialisedConfig, TRUSTED_CAS_FILE } from './config-files.js';

const PRIVATE = 0o600;
const PUBLIC = 0o644;

async function put(dir: string, name: string, data: string | Uint8Array, mode: number): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, data, { mode });
  await chmod(path, mode); // writeFile's mode is filtered by the umask
}

/**
 * Writes the personality into a fresh private directory beside `runtimeDir`
 * and has the daemon's loaders read it back; returns that directory. Nothing
 * is left behind when it fails.
 */
export async function stage(p: Personality, runtimeDir: string): Promise<string> {
  const target = resolve(runtimeDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const staging = await mkdtemp(join(parent, `.${basename(target)}.new-`));
  try {
    await chmod(staging, 0o700);
    const keyPem = createPrivateKey({ key: Buffer.from(p.memberKey), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
    const config = materialisedConfig(p);
    await put(staging, CONFIG_FILE, `${JSON.stringify(config, null, 2)}\n`, PRIVATE);
    await put(staging, MEMBER_CERT_FILE, p.memberChain.map(certificatePem).join(''), PUBLIC);
    await put(staging, MEMBER_KEY_FILE, keyPem, PRIVATE);
    await put(staging, TRUSTED_CAS_FILE, p.trustedCas.map(certificatePem).join(''), PUBLIC);
    for (const f of p.files) await put(staging, f.name, f.data, f.secret ? PRIVATE : PUBLIC);
    // The daemon's own loaders read it back (certificates, key, member CRLs), as they will at start.
    try {
      loadCredentials(parseDaemonConfig(config, (path) => resolve(staging, path)));
    } catch (e) {
      if (e instanceof ShoalError) throw new ShoalError(e.code, `personality: ${e.message.replaceAll(`${staging}/`, '')}`);
      throw e;
    }
    return staging;
  } catch (e) {
    await discard(staging);
    if (e instanceof ShoalError) throw e;
    throw new ShoalError('FLASH_MATERIALISE', `cannot write the personality beside ${target}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function discard(staging: string): Promise<void> {
  await rm(staging, { recursive: true, force: true });
}

/** Puts a staged directory at `runtimeDir` (an older one is moved aside, then removed); returns config.json's path. */
export async function commit(staging: string, runtimeDir: string): Promise<string> {
  const target = resolve(runtimeDir);
  const old = `${staging}.old`;
  let moved = false;
  try {
    try {
      await rename(target, old);
      moved = true;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
    }
    try {
      await rename(staging, target);
    } catch (e) {
      if (moved) await rename(old, target);
      throw e;
    }
  } catch (e) {
    await discard(staging);
    throw new ShoalError('FLASH_MATERIALISE', `cannot put the personality at ${target}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (moved) await discard(old);
  return join(target, CONFIG_FILE);
}

/** Stage and commit: the materialised config.json's path (inside `runtimeDir`). */
export async function materialise(p: Personality, runtimeDir: string): Promise<string> {
  return commit(await stage(p, runtimeDir), runtimeDir);
}
