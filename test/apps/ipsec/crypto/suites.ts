/** Every supported combination, in strongSwan proposal syntax. */
const GROUPS = ['modp2048', 'ecp256', 'ecp384', 'x25519'] as const;
const PRFS = ['prfsha256', 'prfsha384', 'prfsha512'] as const;
const AEADS = ['aes128gcm16', 'aes256gcm16', 'chacha20poly1305'] as const;
const CBCS = ['aes128', 'aes256'] as const;
const INTEGRITIES = ['sha256', 'sha384', 'sha512'] as const;

export const NAMED_SUITES = [
  'aes256gcm16-prfsha256-ecp256',
  'aes128gcm16-prfsha256-x25519',
  'aes256-sha256-modp2048',
  'chacha20poly1305-prfsha256-x25519',
] as const;

export const ALL_SUITE_NAMES: readonly string[] = [
  ...AEADS.flatMap((e) => PRFS.flatMap((p) => GROUPS.map((g) => `${e}-${p}-${g}`))),
  ...CBCS.flatMap((e) => INTEGRITIES.flatMap((i) => PRFS.flatMap((p) => GROUPS.map((g) => `${e}-${i}-${p}-${g}`)))),
];
