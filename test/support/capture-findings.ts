/**
 * What a capture of echo-stream traffic on the router's outer leg says about
 * the cluster, given the unit table of the time (pure):
 *
 *   pcap ─► readPcap ─► udpFrames ─► requests (to the cluster address, port 7)
 *                                 └► echoes (from it) ─► payload names flow + seq
 *                                      ─► duplicates: a (flow, seq) echoed more than once
 *                                      ─► wrong owner: the echo's source MAC is not
 *                                         memberMac(owner of the flow's unit)
 */
import { flowUnit } from '../../src/lab/echo-stream-analysis.js';
import { parseStreamPayload } from '../../src/lab/echo-stream.js';
import { CLUSTER, memberAddress } from '../../src/lab/plan.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { memberMac } from '../../src/stack/delivery-mode.js';
import { formatMac } from '../../src/wire/ethernet.js';
import type { ClusterView } from './lab-cluster.js';
import { readPcap, udpFrames } from './pcap.js';

const ECHO_PORT = 7;

export interface CaptureFindings {
  linkType: number;
  requests: number;
  /** Destination MACs the requests were sent to (the mode's cluster MAC). */
  requestMacs: string[];
  replies: number;
  /** Echoes per sender: a member address, or "unknown MAC …". */
  perMember: Map<string, number>;
  /** "src:port:seq" of every request echoed more than once. */
  duplicates: string[];
  /** Echoes sent by a member that does not own the flow's unit. */
  wrongOwner: string[];
  /** Echoes whose UDP checksum did not verify (the members compute theirs in userspace). */
  badChecksum: number;
  /** Frames the codecs refused, and echoes whose payload does not name their own flow. */
  undecodable: number;
  malformed: number;
}

export function captureFindings(pcap: Uint8Array, view: ClusterView): CaptureFindings {
  const file = readPcap(pcap);
  const { udp, undecodable } = udpFrames(file);
  const requests = udp.filter((u) => u.dst === CLUSTER.outsideAddress && u.dstPort === ECHO_PORT);
  const replies = udp.filter((u) => u.src === CLUSTER.outsideAddress && u.srcPort === ECHO_PORT);
  const memberOfMac = new Map<string, string>();
  for (const o of view.observations) memberOfMac.set(formatMac(memberMac(parseIpv4(memberAddress(o.member)), 'outer')), memberAddress(o.member));
  const seen = new Map<string, number>();
  const perMember = new Map<string, number>();
  const wrongOwner: string[] = [];
  let malformed = 0;
  for (const r of replies) {
    const p = parseStreamPayload(new TextDecoder().decode(r.payload));
    if (p === null || p.src !== r.dst || p.port !== r.dstPort) {
      malformed++;
      continue;
    }
    const key = `${p.src}:${p.port}:${p.seq}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const owner = view.table.owners[flowUnit(p.src, p.port, CLUSTER.outsideAddress, ECHO_PORT)] ?? null;
    const from = memberOfMac.get(r.srcMac) ?? `unknown MAC ${r.srcMac}`;
    perMember.set(from, (perMember.get(from) ?? 0) + 1);
    if (from !== owner) wrongOwner.push(`${key} from ${from}, owner ${owner}`);
  }
  return {
    linkType: file.linkType,
    requests: requests.length,
    requestMacs: [...new Set(requests.map((r) => r.dstMac))],
    replies: replies.length,
    perMember,
    duplicates: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
    wrongOwner,
    badChecksum: replies.filter((r) => !r.checksumOk).length,
    undecodable,
    malformed,
  };
}
