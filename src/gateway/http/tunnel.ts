import type { Socket } from 'node:net';

/**
 * After a 101 (or a 2xx to CONNECT) the connection carries another protocol: join the
 * client and upstream sockets byte for byte, with stream backpressure (pipe) both ways.
 * Bytes each side sent after the head, already read by our parsers, go first. Either
 * socket closing closes the other. Such a flow cannot be resumed.
 */
export function joinTunnel(
  client: Socket,
  upstream: Socket,
  toClient: Buffer,
  toUpstream: Buffer,
): void {
  for (const event of ['data', 'end', 'drain']) client.removeAllListeners(event);
  if (toClient.length > 0) client.write(toClient);
  if (toUpstream.length > 0) upstream.write(toUpstream);
  upstream.on('error', () => client.destroy());
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}
