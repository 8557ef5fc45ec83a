import { WebSocket } from 'ws';

/**
 * Closes every socket with `code` and `reason` and resolves once each has closed; a socket that
 * has not finished the closing handshake after `graceMs` (a client that stopped reading) is cut off.
 */
export async function closeAll(
  sockets: Iterable<WebSocket>,
  code: number,
  reason: string,
  graceMs: number,
): Promise<void> {
  await Promise.all(
    [...sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          const cutOff = setTimeout(() => socket.terminate(), graceMs);
          socket.once('close', () => {
            clearTimeout(cutOff);
            resolve();
          });
          if (socket.readyState === WebSocket.CLOSING) return;
          socket.close(code, reason);
        }),
    ),
  );
}
