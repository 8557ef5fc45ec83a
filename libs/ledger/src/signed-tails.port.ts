/**
 * What the latest signed checkpoint says about a stream's length, so that a read can tell a
 * stream whose last events were deleted (and its revision counter lowered to match) from one that
 * simply ends there.
 *
 * Every adapter guarantees: `signedRevision` answers the highest revision of the stream among the
 * events a signed tree head covers, or undefined when no signed head covers any event of it. An
 * answer may lag the newest head by a bounded time (a cache), never run ahead of the signed heads.
 */
export interface SignedTails {
  signedRevision(streamId: string): Promise<bigint | undefined>;
}

/** The ledger's SignedTails, when the process has signed checkpoints (optional). */
export const SIGNED_TAILS = Symbol('SignedTails');
