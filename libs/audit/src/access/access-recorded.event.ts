import type { AccessRecord, RequestOrigin } from '@ledgerline/identity';
import { accessContentSalt } from './access-content';

export const ACCESS_RECORDED = 'AccessRecorded';

/**
 * `AccessRecorded` v1, the one event type of a tenant's audit stream (`audit:<tenant>`): an access
 * record as the recorder received it, with the time of the access. Sealed like every event; it
 * holds ids and codes only.
 */
export interface AccessRecordedV1 extends Omit<AccessRecord, 'tenantId' | 'origin'> {
  /** When the access happened (ISO 8601), which can be a little before the batch was appended. */
  readonly at: string;
  /** Where from, and the node that served it. */
  readonly origin: RequestOrigin & { readonly node: string };
  /** Random, so the content digest in clear metadata cannot be confirmed by guessing (access-content.ts). */
  readonly salt?: string;
}

export function accessRecordedPayload(
  record: AccessRecord & { readonly origin: RequestOrigin },
  node: string,
  at: Date,
): AccessRecordedV1 {
  const { tenantId: _tenant, origin, ...rest } = record;
  return { ...rest, origin: { ...origin, node }, at: at.toISOString(), salt: accessContentSalt() };
}

/** Parses a stored payload; undefined when it is not an AccessRecorded v1 body. */
export function parseAccessRecorded(payload: Buffer): AccessRecordedV1 | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<AccessRecordedV1>;
  if (
    typeof v.action !== 'string' ||
    typeof v.outcome !== 'string' ||
    typeof v.at !== 'string' ||
    typeof v.actor !== 'object' ||
    !Array.isArray(v.targetIds) ||
    !Array.isArray(v.subjectUserIds) ||
    typeof v.origin !== 'object'
  ) {
    return undefined;
  }
  return v as AccessRecordedV1;
}
