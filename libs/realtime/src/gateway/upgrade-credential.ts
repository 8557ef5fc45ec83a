import type { IncomingMessage } from 'node:http';
import { BEARER_SUBPROTOCOL_PREFIX, REALTIME_SUBPROTOCOL } from '../realtime.config';

export type UpgradeCredential =
  { readonly ok: true; readonly authorization: string | undefined } | { readonly ok: false };

/**
 * The credential of a realtime upgrade, as an `Authorization` header value for bearerCredential:
 *
 * - `Authorization: Bearer <token>` (servers, native apps);
 * - or, for browsers, which cannot set headers on a WebSocket, the subprotocols
 *   `ledgerline.v1, bearer.<token>` (the server selects `ledgerline.v1`).
 *
 * The header wins when both are present. Subprotocols offered without `ledgerline.v1` are a client
 * speaking something else: `{ ok: false }` (400). No query parameter: URLs end up in logs.
 */
export function upgradeCredential(request: IncomingMessage): UpgradeCredential {
  const protocols = offeredProtocols(request);
  if (protocols.length > 0 && !protocols.includes(REALTIME_SUBPROTOCOL)) return { ok: false };
  const header = request.headers.authorization;
  if (header !== undefined && header !== '') return { ok: true, authorization: header };
  const bearer = protocols.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (bearer === undefined) return { ok: true, authorization: undefined };
  return { ok: true, authorization: `Bearer ${bearer.slice(BEARER_SUBPROTOCOL_PREFIX.length)}` };
}

function offeredProtocols(request: IncomingMessage): string[] {
  const raw = request.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}
