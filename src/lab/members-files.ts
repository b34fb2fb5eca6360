/**
 * Where a lab keeps its member daemons' files, and how it writes them.
 *
 *   /run/shoal-lab/<lab>/            0700, removed by `shoal lab down`
 *     pki/ca.pem ca.key              a throwaway development CA (made on first use)
 *     pki/m<i>.pem m<i>.key          member-i's chain and key (issued when m<i> first needs one)
 *     m<i>.json                      member-i's daemon configuration (see src/daemon/config.ts)
 *     m<i>.pid  m<i>.start           its process id, and that process's start time (kernel ticks)
 *     m<i>.log  m<i>.sock            its stdout+stderr, its admin socket
 *
 * One place for the layout, so the PKI, the configurations, the process
 * records and the cluster checks (members-*.ts) all agree on the paths.
 * Files are written to `<path>.tmp` and renamed, so a reader never sees half.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateLabOptions } from './plan.js';

export interface PkiFiles {
  ca: string;
  certificate: string;
  key: string;
}

export interface MemberFiles extends PkiFiles {
  config: string;
  socket: string;
  log: string;
  pid: string;
  start: string;
}

/** The paths of the labs under one state directory. */
export class MemberLayout {
  readonly #stateDir: string;

  constructor(stateDir: string) {
    this.#stateDir = stateDir;
  }

  labDir(name: string): string {
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    return join(this.#stateDir, name);
  }

  pkiDir(name: string): string {
    return join(this.labDir(name), 'pki');
  }

  files(name: string, i: number): MemberFiles {
    const dir = this.labDir(name);
    const pki = this.pkiDir(name);
    return {
      ca: join(pki, 'ca.pem'),
      certificate: join(pki, `m${i}.pem`),
      key: join(pki, `m${i}.key`),
      config: join(dir, `m${i}.json`),
      socket: join(dir, `m${i}.sock`),
      log: join(dir, `m${i}.log`),
      pid: join(dir, `m${i}.pid`),
      start: join(dir, `m${i}.start`),
    };
  }

  /** The dev CA and member-i's certificate and key, when all three exist. */
  pkiFiles(name: string, i: number): PkiFiles | null {
    const f = this.files(name, i);
    return existsSync(f.ca) && existsSync(f.certificate) && existsSync(f.key) ? { ca: f.ca, certificate: f.certificate, key: f.key } : null;
  }
}

export async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

export async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
}

export async function writePublic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
}
