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

const [address, group, port] = process.argv.slice(2);
const transport = await UdpControlTransport.open({ address: address ?? '', group: group ?? '', port: Number(port) });
transport.onDatagram((bytes, from) => process.send?.({ received: [...bytes], from }));
process.on('message', (m: SendRequest | 'close') => {
  if (m === 'close') {
    void transport.close().then(() => process.exit(0));
    return;
  }
  transport.send(Uint8Array.from(m.send), m.to);
});
process.send?.({ ready: true });
