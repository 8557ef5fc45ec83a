import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { json } from 'body-parser';
import { GRAPHQL_EDGE_SETTINGS } from '../graphql-edge.tokens';
import type { GraphqlEdgeSettings } from '../graphql-edge.config';

type Next = (error?: unknown) => void;
type ParsedRequest = IncomingMessage & { body?: unknown };

/**
 * Caps request bodies on the GraphQL path, answering in GraphQL's error shape (413,
 * PAYLOAD_TOO_LARGE) before Apollo sees the request.
 *
 * A declared Content-Length over the cap is refused without reading the body. A body the app's
 * own JSON parser has not read yet (the app runs with `bodyParser: false`, or the content type was
 * not its) is parsed here with the cap, so chunked bodies are bounded too. When the app's parser
 * did read it, that parser's limit was the one applied while reading.
 */
@Injectable()
export class GraphqlBodyLimitMiddleware implements NestMiddleware {
  private readonly parse: (req: IncomingMessage, res: ServerResponse, next: Next) => void;

  constructor(@Inject(GRAPHQL_EDGE_SETTINGS) private readonly settings: GraphqlEdgeSettings) {
    this.parse = json({ limit: settings.maxBodyBytes });
  }

  use(req: ParsedRequest, res: ServerResponse, next: Next): void {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.settings.maxBodyBytes) {
      return this.tooLarge(res);
    }
    if (req.body !== undefined) return next();
    this.parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      const failure = error as { type?: unknown; status?: unknown };
      if (failure.type === 'entity.too.large' || failure.status === 413) return this.tooLarge(res);
      if (typeof failure.status === 'number' && failure.status < 500) {
        return reply(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON.', {});
      }
      next(error);
    });
  }

  private tooLarge(res: ServerResponse): void {
    const limit = this.settings.maxBodyBytes;
    reply(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is over the limit of ${limit} bytes.`, {
      limit,
    });
  }
}

function reply(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown>,
): void {
  if (res.headersSent) return;
  // Close rather than read the rest of a body nobody wants.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code, ...details } }] }));
}
