import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { UnavailableError } from '@ledgerline/kernel';
import type { ScanResult, VirusScanner } from '../application/virus-scanner.port';

/** Bytes per INSTREAM chunk (clamd's StreamMaxLength caps the whole stream, not a chunk). */
const CHUNK = 64 * 1024;
/** Longest reply read: a verdict line. */
const MAX_REPLY = 4096;

/** clamd could not be reached, refused the stream, or answered something unexpected. */
export class ScannerUnavailableError extends UnavailableError {
  override readonly code = 'scanner_unavailable';
}

/**
 * ClamAV's daemon over its socket protocol: `zINSTREAM\0`, then the bytes as chunks each led by
 * its length (4 bytes, network order), then a zero-length chunk; clamd answers one line
 * (`stream: OK`, `stream: <signature> FOUND`, or `... ERROR`) ended by NUL. The body streams
 * through with backpressure from the socket: memory stays at one chunk.
 *
 * `address` is `tcp://host:port` or the path of clamd's unix socket.
 */
export class ClamdScanner implements VirusScanner {
  constructor(
    private readonly address: string,
    private readonly timeoutMs = 120_000,
  ) {}

  async scan(body: Readable): Promise<ScanResult> {
    const socket = this.open();
    try {
      const reply = this.readReply(socket);
      // Awaited below; a failed connect rejects it too, and is reported by `once` instead.
      reply.catch(() => undefined);
      await once(socket, 'connect');
      await write(socket, Buffer.from('zINSTREAM\0', 'ascii'));
      for await (const data of body) {
        const piece = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
        for (let at = 0; at < piece.length; at += CHUNK) {
          const slice = piece.subarray(at, at + CHUNK);
          const length = Buffer.alloc(4);
          length.writeUInt32BE(slice.length, 0);
          await write(socket, length);
          await write(socket, slice);
        }
      }
      await write(socket, Buffer.alloc(4));
      return parseReply(await reply);
    } catch (error) {
      body.destroy();
      if (error instanceof ScannerUnavailableError) throw error;
      throw new ScannerUnavailableError('the virus scanner failed', { cause: error });
    } finally {
      socket.destroy();
    }
  }

  /** PING → PONG: whether clamd answers. */
  async ping(): Promise<boolean> {
    const socket = this.open();
    try {
      const reply = this.readReply(socket);
      // Awaited below; a failed connect rejects it too, and is reported by `once` instead.
      reply.catch(() => undefined);
      await once(socket, 'connect');
      await write(socket, Buffer.from('zPING\0', 'ascii'));
      return (await reply) === 'PONG';
    } catch {
      return false;
    } finally {
      socket.destroy();
    }
  }

  private open(): Socket {
    const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)$/.exec(this.address);
    const socket = tcp
      ? connect({ host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) })
      : connect({ path: this.address });
    socket.setTimeout(this.timeoutMs, () =>
      socket.destroy(new ScannerUnavailableError('the virus scanner timed out')),
    );
    return socket;
  }

  /** The reply line, up to its NUL (or the end of the connection). */
  private readReply(socket: Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let reply = Buffer.alloc(0);
      socket.on('data', (data: Buffer) => {
        reply = Buffer.concat([reply, data]);
        const end = reply.indexOf(0);
        if (end >= 0) resolve(reply.subarray(0, end).toString('utf8').trim());
        else if (reply.length > MAX_REPLY)
          reject(new ScannerUnavailableError('clamd reply too long'));
      });
      socket.on('end', () => resolve(reply.toString('utf8').replace(/\0/g, '').trim()));
      socket.on('error', reject);
      socket.on('close', () => reject(new ScannerUnavailableError('clamd closed the connection')));
    });
  }
}

/** `stream: OK`, `stream: Eicar-Signature FOUND`, else an error. */
export function parseReply(reply: string): ScanResult {
  const verdict = reply.replace(/^stream:\s*/, '');
  if (verdict === 'OK') return { clean: true };
  const found = /^(.{1,200}) FOUND$/.exec(verdict);
  if (found) return { clean: false, signature: found[1]!.replace(/[^\x20-\x7e]/g, '?') };
  throw new ScannerUnavailableError(
    `clamd did not scan the stream (${verdict.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')})`,
  );
}

function once(socket: Socket, event: 'connect'): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => {
      socket.off('error', reject);
      resolve();
    });
    socket.once('error', reject);
  });
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}
