/**
 * The IKE handler as a fuzz target: every input goes into a real
 * IpsecHandler (IKEv2 responder and ESP) as a UDP 500 datagram, a UDP 4500
 * datagram or an IP protocol 50 packet, from one client; the handler must
 * never throw (bad input is a counted drop). The corpus is the recorded PSK
 * conversation (test/apps/ipsec/fixtures); each run first replays it, so
 * mutated IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL and ESP packets meet an
 * SA that exists. A fresh handler every HANDLER_INPUTS inputs keeps its
 * half-open SAs and caches from growing over a million inputs; the clock
 * moves 1 ms per input, so timeouts and lifetimes run too.
 */
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { unitOfAddressPort } from '../../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import { encodeNonEsp } from '../../../src/wire/udp-encap.js';
import { makeTestPki, responderDeps, type TestPki } from '../ike-initiator.js';
import { FuzzFinding, type FuzzTarget } from './target.js';
import { recordedIke } from './targets-wire.js';

const CLIENT = { ip: parseIpv4('203.0.113.200'), port: 500 };
const UNIT = unitOfAddressPort(CLIENT.ip, CLIENT.port);
const HANDLER_INPUTS = 5000;
const FIXED_CERTREQ = new Uint8Array(20).fill(0xca);

export function ikeHandlerTarget(): FuzzTarget {
  let pki: TestPki | null = null;
  let handler: IpsecHandler | null = null;
  let used = 0;
  let now = 0;
  const conversation = recordedIke();
  const feed = (h: IpsecHandler, port: number, bytes: Uint8Array): void => {
    if (port === IP_PROTOCOL.ESP) h.ip(now, UNIT, CLIENT.ip, IP_PROTOCOL.ESP, bytes);
    else if (port === 500) h.udp(now, UNIT, CLIENT, 500, bytes);
    else h.udp(now, UNIT, { ip: CLIENT.ip, port: 4500 }, 4500, bytes);
  };
  const fresh = (): IpsecHandler => {
    if (pki === null) throw new Error('corpus() first: it makes the PKI');
    const h = new IpsecHandler({ ...responderDeps(pki, { seed: 42 }), certReqAuthorities: FIXED_CERTREQ });
    // Replay the first conversation up to its ESP packet: an established IKE SA and CHILD SA to aim at.
    for (const r of conversation.filter((x) => x.request.length > 0).slice(0, 3)) feed(h, r.port, r.port === 4500 ? encodeNonEsp(r.request) : r.request);
    return h;
  };
  return {
    name: 'ike handler',
    async corpus() {
      pki ??= await makeTestPki();
      // Port 4500 inputs carry the non-ESP marker; 500 and ESP are sent as recorded.
      return conversation.map((r) => (r.port === 4500 ? encodeNonEsp(r.request) : r.request));
    },
    check(input) {
      if (handler === null || used >= HANDLER_INPUTS) {
        handler = fresh();
        used = 0;
      }
      used++;
      now += 1;
      const port = [500, 4500, IP_PROTOCOL.ESP][input.length % 3] ?? 500;
      try {
        feed(handler, port, input);
      } catch (e) {
        throw new FuzzFinding('ike handler', input, `threw on port ${port}: ${String(e)}`, { cause: e });
      }
      return 'decoded';
    },
  };
}
