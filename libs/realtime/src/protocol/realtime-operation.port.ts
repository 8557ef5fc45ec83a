import type { Principal } from '@ledgerline/identity';
import type { ReplyFields } from './realtime-frames';

/** Who is asking, on which connection. */
export interface RealtimeContext {
  /** The authenticated principal; its `origin` names the realtime transport and the device. */
  readonly principal: Principal;
  readonly connectionId: string;
  /** The device id the client gave in its `hello`, if any. */
  readonly deviceId: string | undefined;
}

/**
 * One operation of the protocol that a domain lib serves (its `api/` translates a frame into a
 * call of its handlers, as its GraphQL resolvers do). Every implementation guarantees:
 *
 * - `input` is a class-validator DTO; the gateway validates the frame against it (unknown fields
 *   refused) before `handle` sees it, so `handle` trusts its input's shape.
 * - `handle` answers the reply's fields (JSON values only; ids, positions and revisions as strings
 *   or safe numbers), or throws a LedgerlineError whose message holds no PHI; the gateway turns it
 *   into a typed error reply. Anything else is answered `internal` and logged without its message.
 * - It changes nothing when it refuses.
 */
export interface RealtimeOperation<Input extends object = object> {
  /** The `op` clients send. */
  readonly op: string;
  readonly input: new () => Input;
  handle(context: RealtimeContext, input: Input): Promise<ReplyFields>;
}

/** Declares an operation with its input type inferred from the DTO. */
export function realtimeOperation<Input extends object>(
  op: string,
  input: new () => Input,
  handle: (context: RealtimeContext, input: Input) => Promise<ReplyFields>,
): RealtimeOperation<Input> {
  return { op, input, handle };
}

/**
 * Pushes a domain lib sends to a connection of its own accord (libs/calls: call state and
 * signals). `attach` is called once the connection's `hello` is done (so `context.deviceId` is
 * the device it named) and returns what detaches it, which the connection calls when it closes:
 * the domain may take the close as the device going away. `push` serialises a frame
 * `{ v, type, ...fields }`; `type` must not be one of the protocol's own (`reply`, `event`…).
 */
export interface RealtimeChannel {
  attach(context: RealtimeContext, push: (type: string, fields: ReplyFields) => void): () => void;
}
