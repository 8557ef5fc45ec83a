import { createSocket, type RemoteInfo } from 'node:dgram';

/**
 * The SFU fan-out bench's reference forwarder, alone in a process (so its CPU time is its own):
 * a plain UDP forward in Node. A datagram `SUB` registers its sender as a subscriber (answered
 * `OK`); any other datagram is an RTP packet from the publisher, forwarded as it is to every
 * subscriber when its SSRC is one of the forwarded ones (argv: their decimal list; the audio and
 * the lowest simulcast layer, as an SFU picks one layer per subscriber), else dropped. No ICE, no
 * DTLS, no SRTP, no RTCP, no rewriting: the least a forwarder of the same packets does.
 * Prints `{"port":N}` once bound; stops on SIGTERM.
 */
function main(): void {
  const forwarded = new Set(process.argv.slice(2).map(Number));
  const subscribers: RemoteInfo[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (data, from) => {
    if (data.length === 3 && data.toString('latin1') === 'SUB') {
      subscribers.push(from);
      socket.send('OK', from.port, from.address);
      return;
    }
    if (data.length < 12 || !forwarded.has(data.readUInt32BE(8))) return;
    for (const to of subscribers) socket.send(data, to.port, to.address);
  });
  socket.bind(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`);
  });
  process.once('SIGTERM', () => socket.close(() => process.exit(0)));
}

main();
