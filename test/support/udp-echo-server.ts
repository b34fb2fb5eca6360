/**
 * A plain kernel UDP echo server for the lab's application host (run inside
 * its namespace by the tests): echoes every datagram on the given port back
 * to its sender, prints "ready" once bound, and runs until killed.
 * Usage: udp-echo-server <port>
 */
import dgram from 'node:dgram';

const port = Number(process.argv[2] ?? '7');
const socket = dgram.createSocket('udp4');
socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
socket.bind(port, () => process.stdout.write('ready\n'));
