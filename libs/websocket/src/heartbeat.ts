import { WebSocket } from 'ws';

/**
 * Pings the socket every `intervalMs`; a socket that has not answered (pong) by the next ping is
 * dead (a vanished peer, a half-open TCP connection, a client that stopped reading) and is
 * terminated, which fires its `close`; `onDead` is told first. Returns the function that stops the
 * heartbeat; it also stops by itself when the socket closes.
 */
export function startHeartbeat(
  socket: WebSocket,
  intervalMs: number,
  onDead?: () => void,
): () => void {
  let answered = true;
  const onPong = () => {
    answered = true;
  };
  socket.on('pong', onPong);
  const timer = setInterval(() => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (!answered) {
      onDead?.();
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    socket.off('pong', onPong);
  };
  socket.once('close', stop);
  return stop;
}
