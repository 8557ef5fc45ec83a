import { All, Controller, Delete, Get, HttpCode, Inject, Param, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import contentDisposition from 'content-disposition';
import type { Server as TusServer } from '@tus/server';
import {
  AUTHENTICATOR,
  bearerCredential,
  requestOriginOf,
  type Authenticator,
  type Principal,
} from '@ledgerline/identity';
import { isUuid } from '@ledgerline/kernel';
import type { FileCommands } from '../application/file-commands.handler';
import type { FileDownloads } from '../application/file-downloads.handler';
import { FileNotFoundError } from '../domain/file.errors';
import { byteRangeOf } from './http-range';
import { httpFailureOf } from './http-errors';
import { requestPrincipal } from './request-principal';

export const FILES_TUS_SERVER = Symbol('FilesTusServer');
export const FILES_DOWNLOADS = Symbol('FileDownloads');
export const FILES_COMMANDS = Symbol('FileCommands');

/** Headers of one connection, not of the request. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** Types a browser may show inline when asked (`?disposition=inline`); anything else downloads. */
const INLINE = /^(image|video|audio)\//;

/**
 * The files HTTP API: uploads (tus, `/v1/files/uploads`), downloads (`GET /v1/files/:id`, with
 * Range), thumbnails and removal. Every request is authenticated like GraphQL's (a bearer JWT or
 * API key); a refusal is `{ code, message }` with the status of its kind.
 */
@Controller('v1/files')
export class FilesController {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(FILES_TUS_SERVER) private readonly tus: TusServer,
    @Inject(FILES_DOWNLOADS) private readonly downloads: FileDownloads,
    @Inject(FILES_COMMANDS) private readonly commands: FileCommands,
  ) {}

  @All(['uploads', 'uploads/*upload'])
  async upload(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    // A CORS preflight carries no credential; tus answers it with its capabilities only.
    if (req.method === 'OPTIONS') return this.handleTus(req, res);
    const principal = await this.authenticate(req, res);
    if (!principal) return;
    await requestPrincipal.run(principal, () => this.handleTus(req, res));
  }

  /**
   * Hands the request to tus as a web Request whose body holds at most 256 KiB ahead of what the
   * upload consumed. (tus's own Node adapter converts the request with a queue counted in chunks
   * up to the socket's byte high-water mark, 16,384 chunks: when the disk is slower than the
   * network that buffered up to a gigabyte.)
   */
  private async handleTus(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (HOP_BY_HOP.has(name) || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const hasBody = !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(req.method ?? 'GET');
    const request = new Request(new URL(req.url ?? '/', 'http://ledgerline.invalid'), {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody
        ? {
            body: Readable.toWeb(req, {
              strategy: new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
            }),
            duplex: 'half',
          }
        : {}),
    });
    const response = await this.tus.handleWeb(request);
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.setHeader(name, value));
    res.end(Buffer.from(await response.arrayBuffer()));
    // A request refused before its body was read: drop the rest instead of reading it.
    if (hasBody && !req.readableEnded) req.destroy();
  }

  @Get(':fileId')
  async download(
    @Param('fileId') fileId: string,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
  ): Promise<void> {
    await this.serve(fileId, 'file', req, res);
  }

  @Get(':fileId/thumbnail')
  async thumbnail(
    @Param('fileId') fileId: string,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
  ): Promise<void> {
    await this.serve(fileId, 'thumbnail', req, res);
  }

  @Delete(':fileId')
  @HttpCode(204)
  async remove(
    @Param('fileId') fileId: string,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const principal = await this.authenticate(req, res);
    if (!principal) return;
    try {
      if (!isUuid(fileId)) throw new FileNotFoundError('-');
      await this.commands.remove(principal, fileId);
      res.statusCode = 204;
      res.end();
    } catch (error) {
      fail(res, error);
    }
  }

  private async serve(
    fileId: string,
    what: 'file' | 'thumbnail',
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const principal = await this.authenticate(req, res);
    if (!principal) return;
    let download;
    try {
      if (!isUuid(fileId)) throw new FileNotFoundError('-');
      download = await this.downloads.download(principal, fileId, what, (size) =>
        byteRangeOf(req.headers.range, size),
      );
    } catch (error) {
      fail(res, error);
      return;
    }
    const { description, range, length, body, size } = download;
    // The first bytes are opened before the status is sent: a body that fails at its first
    // chunk is a clean error; one that fails later cuts the connection (never a wrong byte).
    let first: Buffer | null;
    try {
      first = await firstPiece(body);
    } catch (error) {
      fail(res, error);
      return;
    }
    res.statusCode = range ? 206 : 200;
    res.setHeader('Content-Type', what === 'file' ? description.mediaType : 'image/webp');
    res.setHeader('Content-Length', String(length));
    res.setHeader('Accept-Ranges', 'bytes');
    if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.setHeader('Cross-Origin-Resource-Policy', 'same-site');
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const inline = query.get('disposition') === 'inline' && INLINE.test(description.mediaType);
    res.setHeader(
      'Content-Disposition',
      contentDisposition(what === 'file' ? description.name : 'thumbnail.webp', {
        type: inline ? 'inline' : 'attachment',
      }),
    );
    if (first) res.write(first);
    body.on('error', () => res.destroy());
    body.pipe(res);
  }

  private async authenticate(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Principal | undefined> {
    try {
      return await this.authenticator.authenticate(
        bearerCredential(req.headers.authorization),
        undefined,
        requestOriginOf(req, 'http'),
      );
    } catch (error) {
      fail(res, error);
      return undefined;
    }
  }
}

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, body } = httpFailureOf(error);
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="ledgerline"');
  if (status === 416 && 'size' in (error as object)) {
    res.setHeader('Content-Range', `bytes */${(error as { size: number }).size}`);
  }
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.statusCode = status;
  res.end(JSON.stringify(body));
}

/** The stream's first piece (null at its end), read before anything is sent. */
function firstPiece(body: NodeJS.ReadableStream): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const onReadable = () => {
      cleanup();
      resolve(body.read() as Buffer | null);
    };
    const onEnd = () => {
      cleanup();
      resolve(null);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    body.once('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}
