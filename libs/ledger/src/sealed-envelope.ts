import type { EventMetadata } from '@ledgerline/kernel';

/** The reserved clear-metadata key holding a sealed event's key reference and chain hashes. */
export const SEAL_KEY = 'seal';

/** Clear, PHI-free facts about how an event was sealed. */
export interface SealInfo {
  /** Envelope format version. */
  readonly v: 1;
  /** Id of the data key (its wraps live in the data-key store, never in the log). */
  readonly key: string;
  /** Retention epoch the data key belongs to (e.g. `2026-11`): the unit of shredding. */
  readonly epoch: string;
  /** Hash of the previous event in the stream (hex), or null for the stream's first event. */
  readonly prev: string | null;
  /** SHA-256 over the canonical header, the sealed body and `prev` (hex). */
  readonly hash: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The seal of a stored event, or undefined when its metadata holds no well-formed one. */
export function sealOf(metadata: EventMetadata): SealInfo | undefined {
  const raw = metadata[SEAL_KEY];
  if (typeof raw !== 'object' || raw === null) return undefined;
  const s = raw as Record<string, unknown>;
  if (s['v'] !== 1) return undefined;
  if (typeof s['key'] !== 'string' || typeof s['epoch'] !== 'string') return undefined;
  if (typeof s['hash'] !== 'string' || !HEX64.test(s['hash'])) return undefined;
  const prev = s['prev'];
  if (prev !== null && (typeof prev !== 'string' || !HEX64.test(prev))) return undefined;
  return { v: 1, key: s['key'], epoch: s['epoch'], prev, hash: s['hash'] };
}

/** The metadata without the seal: what the canonical header covers, and what readers are given. */
export function withoutSeal(metadata: EventMetadata): EventMetadata {
  const { [SEAL_KEY]: _seal, ...rest } = metadata;
  return rest;
}
