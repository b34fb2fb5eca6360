/**
 * Signed personality images of one lab-like member for the slot, power-cut
 * and boot tests: version 1 and version 2 of its configuration, built with
 * buildPersonality, signed by a fresh administrator key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildPersonality } from '../../src/flash/build.js';
import { parseTrustRoot, signImage, type TrustRoot } from '../../src/flash/signing.js';
import { encodeImage, type Personality } from '../../src/wire/flash-image.js';
import { adminKey, writeMember, type MemberOnDisk, type MemberOptions } from './member-fixture.js';

export const SOFTWARE = new Uint8Array(32).fill(0x5a);

export interface Signed {
  member: MemberOnDisk;
  admin: ReturnType<typeof adminKey>;
  root: TrustRoot;
  personality: Personality;
  image: Uint8Array;
  /** The same member's configuration at version 2 (a changed pool), signed likewise. */
  v2: Uint8Array;
}

export async function signedMember(dir: string, o: MemberOptions = {}): Promise<Signed> {
  const member = await writeMember(dir, o);
  const admin = adminKey();
  const personality = buildPersonality({ configPath: member.configPath, softwareDigest: SOFTWARE });
  const image = signImage(encodeImage(personality), admin.privateKey);
  const doc = JSON.parse(readFileSync(member.configPath, 'utf8')) as { cluster: { configVersion: number }; ipsec?: { pool: string } };
  doc.cluster.configVersion = 2;
  if (doc.ipsec) doc.ipsec.pool = '198.20.0.0/16';
  writeFileSync(member.configPath, JSON.stringify(doc));
  const v2 = signImage(encodeImage(buildPersonality({ configPath: member.configPath, softwareDigest: SOFTWARE })), admin.privateKey);
  writeFileSync(member.configPath, JSON.stringify(member.config));
  return { member, admin, root: parseTrustRoot(admin.publicPem), personality, image, v2 };
}
