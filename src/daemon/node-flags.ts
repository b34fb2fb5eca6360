/**
 * V8 flags a member daemon's `node` runs with (the lab passes them; an
 * appliance's service unit must too: `node <flags> dist/src/mgmt/cli/main.js run …`).
 *
 * --max-semi-space-size=8: Node 20 lets the young generation grow to 16 MB
 * semi-spaces under allocation pressure (an IKE_SA_INIT flood, a tunnel at
 * full rate), resident memory the daemon never gives back. Capped at 8 MB the
 * growth during 1,000 handshakes fell from ~28 to ~12–17 kB per IKE SA
 * (bench/README.md), with no measurable cost per handshake; 2 MB cost the
 * data path ~15% more CPU per GB in scavenges.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
