/**
 * swanctl.conf and strongswan.conf for the lab's strongSwan instances:
 * initiators (road warriors asking for a virtual address, certificate or
 * PSK), a responder (the benches' and tests' stand-in), and the daemon's own
 * configuration (plug-ins, its vici socket and log).
 */
/**
 * The daemon's plug-ins. Debian's own list (in /etc/strongswan.d) leaves
 * kernel-libipsec out; an explicit list overrides it. chapoly is needed for
 * chacha20poly1305 proposals, curve25519 for x25519, openssl for ECDSA/RSA
 * signatures and the MODP/ECP groups, attr for the responder's pools.
 */
export const CHARON_PLUGINS = [
  'random', 'nonce', 'openssl', 'pem', 'pkcs1', 'pkcs8', 'x509', 'pubkey', 'constraints',
  'aes', 'sha1', 'sha2', 'hmac', 'gcm', 'chapoly', 'curve25519', 'kdf', 'attr',
  'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici',
] as const;

/** What swanctl itself needs to parse the credentials it loads. */
export const SWANCTL_PLUGINS = ['pem', 'pkcs1', 'pkcs8', 'x509', 'openssl'] as const;

// ---------------------------------------------------------------- configuration

/** The initiator role: a road warrior asking for a virtual address. */
export interface ClientConnection {
  /** Connection and child name (swanctl --initiate --child <name>). Default "home". */
  name?: string;
  /** The responder's (later: the cluster's) address. */
  remoteAddr: string;
  /** IKE proposal, e.g. "aes256gcm16-prfsha256-ecp256". */
  proposals: string;
  /** ESP proposal, e.g. "aes256gcm16". */
  espProposals: string;
  /** This side's identity: must be a subjectAltName (or the subject DN) of its certificate. */
  localId: string;
  /**
   * The identity the responder must prove (a subjectAltName of its
   * certificate, or its full subject DN). Omitted: %any, i.e. any identity
   * the CA certified.
   */
  remoteId?: string;
  /** What to tunnel, e.g. "198.18.101.0/24". */
  remoteTs: string;
  /** Default "local.pem". */
  certFile?: string;
  /** Default "ca.pem". */
  caFile?: string;
  /**
   * Pre-shared key authentication instead of certificates: both sides prove
   * themselves with this secret (local and remote `auth = psk`), and
   * swanctl.conf gets a `secrets` section binding it to `localId`.
   */
  psk?: string;
  /** Bind IKE to this local address (`local_addrs`), e.g. one of the client's extra addresses. */
  localAddrs?: string;
}

/** The responder role (a stand-in for Shoal's until it exists). */
export interface ResponderConnection {
  /** Default "rw". */
  name?: string;
  /** The address IKE listens on for this connection. */
  localAddr: string;
  /** Accepted IKE proposals (comma-separated lists allowed). */
  proposals: string;
  espProposals: string;
  localId: string;
  /** The protected network behind the responder. */
  localTs: string;
  /** Virtual addresses handed to clients, e.g. "198.18.102.0/24". */
  pool: string;
  certFile?: string;
  caFile?: string;
}

/** swanctl.conf for the initiator: `encap = yes` (ESP in UDP 4500: libipsec and Shoal both need it), `vips = 0.0.0.0`. */
export function clientSwanctlConf(c: ClientConnection): string {
  return clientSwanctlConfMany([c]);
}

/** One swanctl.conf with several initiator connections (distinct `name`s), and the secrets of those that use a PSK. */
export function clientSwanctlConfMany(cs: readonly ClientConnection[]): string {
  const secrets = cs.flatMap((c, k) => (c.psk === undefined ? [] : [`  ike-${k} {\n    id = ${c.localId}\n    secret = "${c.psk}"\n  }\n`]));
  return `connections {\n${cs.map(clientConnection).join('')}}\n${secrets.length === 0 ? '' : `secrets {\n${secrets.join('')}}\n`}`;
}

function clientConnection(c: ClientConnection): string {
  const name = c.name ?? 'home';
  const local =
    c.psk === undefined
      ? `      auth = pubkey
      certs = ${c.certFile ?? 'local.pem'}
      id = ${c.localId}`
      : `      auth = psk
      id = ${c.localId}`;
  const remote =
    c.psk === undefined
      ? `      auth = pubkey${c.remoteId === undefined ? '' : `
      id = ${c.remoteId}`}
      cacerts = ${c.caFile ?? 'ca.pem'}`
      : `      auth = psk${c.remoteId === undefined ? '' : `
      id = ${c.remoteId}`}`;
  return `  ${name} {
    version = 2
    remote_addrs = ${c.remoteAddr}${c.localAddrs === undefined ? '' : `
    local_addrs = ${c.localAddrs}`}
    vips = 0.0.0.0
    encap = yes
    mobike = no
    proposals = ${c.proposals}
    local {
${local}
    }
    remote {
${remote}
    }
    children {
      ${name} {
        remote_ts = ${c.remoteTs}
        esp_proposals = ${c.espProposals}
        start_action = none
      }
    }
  }
`;
}

/** swanctl.conf for the responder: a pool of virtual addresses and a protected local_ts. */
export function responderSwanctlConf(r: ResponderConnection): string {
  const name = r.name ?? 'rw';
  return `connections {
  ${name} {
    version = 2
    local_addrs = ${r.localAddr}
    encap = yes
    mobike = no
    pools = ${name}-pool
    proposals = ${r.proposals}
    send_cert = always
    local {
      auth = pubkey
      certs = ${r.certFile ?? 'local.pem'}
      id = ${r.localId}
    }
    remote {
      auth = pubkey
      cacerts = ${r.caFile ?? 'ca.pem'}
    }
    children {
      ${name} {
        local_ts = ${r.localTs}
        esp_proposals = ${r.espProposals}
      }
    }
  }
}
pools {
  ${name}-pool {
    addrs = ${r.pool}
  }
}
`;
}

/** `threads`: charon's thread pool (see charonThreads in strongswan.ts). */
export function strongswanConf(vici: string, log: string, threads: number): string {
  const uri = `unix://${vici}`;
  return `# generated by test/support/strongswan.ts: one isolated charon instance
charon {
  load = ${CHARON_PLUGINS.join(' ')}
  threads = ${threads}
  plugins {
    vici { socket = ${uri} }
    kernel-libipsec { allow_peer_ts = no }
  }
  install_routes = yes
  retransmit_tries = 3
  filelog {
    test {
      path = ${log}
      time_format = %T
      default = 1
      ike = 2
      knl = 2
      cfg = 2
      esp = 1
      append = no
      flush_line = yes
    }
    stderr { default = 0 }
  }
  syslog { daemon { default = -1 } auth { default = -1 } }
}
swanctl {
  socket = ${uri}
  load = ${SWANCTL_PLUGINS.join(' ')}
}
`;
}

