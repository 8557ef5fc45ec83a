import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@ledgerline/kernel';
import { RealtimeRequestError, type RealtimeErrorBody } from './realtime-errors';

/** The protocol version this server speaks: every frame carries it as `v`. */
export const PROTOCOL_VERSION = 1;

/** A client's reference for a request, echoed in the reply: printable ASCII, 1–64 characters. */
const REF = /^[!-~]{1,64}$/;
/** An operation name. */
const OP = /^[A-Za-z]{1,32}$/;

/** A JSON value as replies and pushes carry them (bigints are sent as numbers or strings). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** The fields of a successful reply besides `v`, `type`, `ref` and `ok`. */
export type ReplyFields = { readonly [key: string]: JsonValue | undefined };

/** A request as the client sent it, once its envelope is known to be well formed. */
export interface RequestFrame {
  readonly ref: string;
  readonly op: string;
  /** Everything but `v`, `op` and `ref`: the operation's input, validated by its own schema. */
  readonly body: Readonly<Record<string, unknown>>;
}

export type ParsedRequest =
  | { readonly ok: true; readonly request: RequestFrame }
  /** `ref` is null when the frame had none the reply could echo. */
  | { readonly ok: false; readonly ref: string | null; readonly error: RealtimeRequestError };

/**
 * Reads a client frame's envelope: a JSON object `{ "v": 1, "op": "...", "ref": "...", ... }`.
 * Anything else is answered with a typed error, echoing `ref` whenever the frame had a usable one;
 * the connection stays open.
 */
export function parseRequest(text: string): ParsedRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refused(null, 'invalid_frame', 'the frame is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return refused(null, 'invalid_frame', 'the frame is not a JSON object');
  }
  const { v, op, ref, ...body } = parsed as Record<string, unknown>;
  if (typeof ref !== 'string' || !REF.test(ref)) {
    return refused(null, 'invalid_frame', 'ref must be 1 to 64 printable ASCII characters', {
      fields: [{ field: 'ref', constraints: ['isRef'] }],
    });
  }
  // Before any schema sees it: validation is recursive, and a frame of a few KB can nest
  // thousands of levels deep.
  if (exceedsJsonDepth(parsed)) {
    return refused(ref, 'invalid_frame', `the frame nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (v !== PROTOCOL_VERSION) {
    return refused(
      ref,
      'unsupported_version',
      `this server speaks protocol version ${PROTOCOL_VERSION}`,
    );
  }
  if (typeof op !== 'string' || !OP.test(op)) {
    return refused(ref, 'invalid_frame', 'op must name an operation', {
      fields: [{ field: 'op', constraints: ['isOp'] }],
    });
  }
  return { ok: true, request: { ref, op, body } };
}

function refused(
  ref: string | null,
  code: 'invalid_frame' | 'unsupported_version',
  message: string,
  details: ConstructorParameters<typeof RealtimeRequestError>[2] = {},
): ParsedRequest {
  return { ok: false, ref, error: new RealtimeRequestError(code, message, details) };
}

/** `{ v, type: 'reply', ref, ok: true, ...fields }` as sent. */
export function okReply(ref: string, fields: ReplyFields = {}): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, type: 'reply', ref, ok: true, ...fields });
}

/** `{ v, type: 'reply', ref, ok: false, error }` as sent. */
export function errorReply(ref: string | null, error: RealtimeErrorBody): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, type: 'reply', ref, ok: false, error });
}

/** A frame the server sends of its own accord (`event`, `typing`, `presence`, `stale`). */
export function pushFrame(type: string, fields: ReplyFields): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, type, ...fields });
}
