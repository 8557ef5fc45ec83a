import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/** The compiled entry that runs it as a process of its own (broadcast-server.main.ts), in dist/. */
export const BROADCAST_SERVER_MAIN = join(__dirname, 'broadcast-server.main.js');

/** A running broadcast server. */
export interface BroadcastServer {
  /** `http://127.0.0.1:<port>`; clients connect to `ws://127.0.0.1:<port>/<any path>`. */
  readonly url: string;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * The realtime bench's reference: the least a WebSocket server does to fan chat messages out, with
 * the same frames as the realtime protocol (docs/realtime-protocol.md) so the bench's clients talk
 * to both alike. No authentication, no persistence, no ordering or resume guarantees:
 *
 * - `hello` is answered `ok`;
 * - `sync` joins the connection to the room of every `conversations[].conversationId` it names;
 * - `send` is acknowledged at once (`ok`, with the client message id and a fresh message id), then
 *   one `event` frame (conversation, message ids, text) goes to every other connection in the
 *   room;
 * - anything else is answered `unknown_op`; a frame that is not a JSON object is ignored.
 *
 * It exists only in the bench: it is the floor the Ledgerline gateway is measured against.
 */
export async function startBroadcastServer(port = 0): Promise<BroadcastServer> {
  const http = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: true });
  const rooms = new Map<string, Set<WebSocket>>();

  wss.on('connection', (socket) => {
    const joined = new Set<string>();
    socket.on('message', (data: RawData) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(rawText(data)) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof frame !== 'object' || frame === null) return;
      const { ref } = frame;
      switch (frame['op']) {
        case 'hello':
          return reply(socket, { ref, ok: true });
        case 'sync': {
          const wanted = Array.isArray(frame['conversations']) ? frame['conversations'] : [];
          const conversations = wanted.map((c) =>
            String((c as Record<string, unknown>)['conversationId']),
          );
          for (const conversationId of conversations) {
            let room = rooms.get(conversationId);
            if (!room) rooms.set(conversationId, (room = new Set()));
            room.add(socket);
            joined.add(conversationId);
          }
          return reply(socket, {
            ref,
            ok: true,
            conversations: conversations.map((conversationId) => ({
              conversationId,
              status: 'ok',
            })),
          });
        }
        case 'send': {
          const conversationId = String(frame['conversationId']);
          const messageId = randomUUID();
          const { clientMessageId, text } = frame;
          reply(socket, {
            ref,
            ok: true,
            conversationId,
            messageId,
            clientMessageId,
            duplicate: false,
          });
          const event = JSON.stringify({
            v: 1,
            type: 'event',
            conversationId,
            kind: 'MessageSent',
            messageId,
            clientMessageId,
            text,
          });
          for (const member of rooms.get(conversationId) ?? []) {
            if (member !== socket) member.send(event);
          }
          return;
        }
        default:
          return reply(socket, {
            ref,
            ok: false,
            error: {
              code: 'unknown_op',
              message: 'this server has no such operation',
              retryable: false,
            },
          });
      }
    });
    socket.once('close', () => {
      for (const conversationId of joined) {
        const room = rooms.get(conversationId);
        room?.delete(socket);
        if (room?.size === 0) rooms.delete(conversationId);
      }
    });
    socket.on('error', () => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    connections: () => wss.clients.size,
    async close() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function reply(socket: WebSocket, fields: Record<string, unknown>): void {
  socket.send(JSON.stringify({ v: 1, type: 'reply', ...fields }));
}

/** ws hands text frames over as a Buffer (its default binaryType); the other shapes for safety. */
function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
