import { createHash } from 'node:crypto';

/**
 * `TurnAllocationEnded` v1: one allocation on a relay, from the Allocate that created it to its
 * end. Both relays produce it (the built-in one directly, coturn's through its Redis statistics),
 * and it is sealed in the user's TURN stream. Addresses are network metadata, not PHI; it is
 * sealed like every other payload all the same.
 */
export const TURN_ALLOCATION_ENDED = 'TurnAllocationEnded';
export const TURN_ALLOCATION_ENDED_VERSION = 1;

export type AllocationEndReason = 'expired' | 'deallocated' | 'connection_closed' | 'shutdown';

export interface TurnAllocationEndedV1 {
  readonly relay: 'built-in' | 'coturn';
  /** The relay's own id for the allocation. */
  readonly allocationId: string;
  readonly tenantId: string;
  readonly userId: string;
  /** `udp` or `tcp`: how the client reached the relay. */
  readonly transport: 'udp' | 'tcp';
  /** The client's address as the relay saw it (`ip:port`). */
  readonly clientAddress: string;
  /** The relayed transport address handed to the client (`ip:port`). */
  readonly relayedAddress?: string;
  /** Every peer address a permission was installed for, sorted. */
  readonly peers: readonly string[];
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  /** Application data bytes relayed from the client to its peers. */
  readonly bytesFromClient: number;
  /** Application data bytes relayed from peers to the client. */
  readonly bytesToClient: number;
  readonly packetsFromClient: number;
  readonly packetsToClient: number;
  readonly reason: AllocationEndReason;
}

const PLAIN_USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@=+-]{0,99}$/;

/**
 * The user's TURN stream: `turn:<tenant>:<user>`; a user id that does not fit a stream name is
 * named by its SHA-256 after `h/`, the way presence streams are.
 */
export function turnStreamId(tenantId: string, userId: string): string {
  if (PLAIN_USER_ID.test(userId)) return `turn:${tenantId}:${userId}`;
  return `turn:${tenantId}:h/${createHash('sha256').update(userId, 'utf8').digest('base64url')}`;
}
