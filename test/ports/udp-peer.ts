/**
 * A UDP control transport in a child process (started inside a namespace by
 * the contract test): it sends what the parent asks over IPC and reports every
 * datagram it receives. Not a test file itself.
 */
import { UdpControlTransport } from '../../src/ports/control-transport-udp.js';

interface SendRequest {
  send: number[];
  to: number | 'all';
}

/** 'throwing': the handler reports `{ threw }` and throws (as a decoder bug would); 'errors': report transport.errors. */
type Control = 'close' | 'throwing' | 'forwarding' | 'errors';

const [address, group, port] = process.argv.slice(2);
const transport = await UdpControlTransport.open({ address: address ?? '', group: group ?? '', port: Number(port) });
const forward = (bytes: Uint8Array, from: number): void => void process.send?.({ received: [...bytes], from });
transport.onDatagram(forward);
process.on('message', (m: SendRequest | Control) => {
  if (m === 'close') {
    void transport.close().then(() => process.exit(0));
    return;
  }
  if (m === 'throwing') {
    transport.onDatagram((bytes) => {
      process.send?.({ threw: [...bytes] });
      throw new RangeError('decoder: offset 9 outside 8 bytes');
    });
    process.send?.({ mode: m });
    return;
  }
  if (m === 'forwarding') {
    transport.onDatagram(forward);
    process.send?.({ mode: m });
    return;
  }
  if (m === 'errors') {
    process.send?.({ errors: Object.fromEntries(transport.errors) });
    return;
  }
  transport.send(Uint8Array.from(m.send), m.to);
});
process.send?.({ ready: true });
