import {
  rotateTenantKeys,
  type DataKeys,
  type DataKeyStore,
  type KeyInvalidations,
  type KeyProvider,
  type RotationOptions,
  type RotationResult,
} from '@ledgerline/crypto';
import { ValidationError, type Actor, type IdGenerator } from '@ledgerline/kernel';
import type { Ledger } from './ledger';

/** Key operations are events in the tenant's key stream; their payloads are sealed like any other. */
export const keyStreamId = (tenantId: string): string => `keys:${tenantId}`;
const KEY_STREAM_PREFIX = 'keys:';

export interface ShredRequest {
  readonly tenantId: string;
  readonly streamId: string;
  readonly epoch?: string;
  /** Why, in words: may name a patient or a case, so it is sealed, never logged. */
  readonly reason: string;
  readonly actor: Actor;
}

export interface ShredOutcome {
  readonly keyIds: readonly string[];
  readonly wrapsDeleted: number;
  readonly eventId: string;
}

export interface RotationOutcome extends RotationResult {
  readonly eventId: string;
}

/** `DataKeysShredded` v1 and `KekRotated` v1 payloads, as sealed JSON. */
export interface DataKeysShreddedV1 {
  readonly streamId: string;
  readonly epoch: string | null;
  readonly keyIds: readonly string[];
  readonly reason: string;
}
export interface KekRotatedV1 {
  readonly kekId: string;
  readonly toVersion: string;
  readonly newVersion: boolean;
  readonly rewrapped: number;
  readonly pruned: number;
}

const MAX_REASON = 2_000;

/**
 * Rotation and shredding, each recorded as an event (what, when, who, why) in the tenant's key
 * stream. Shredding destroys the wraps first (refused under legal hold), then records the fact;
 * if recording fails the error says so and the shred stays visible in the data-key store.
 */
export class KeyLifecycle {
  constructor(
    private readonly ledger: Ledger,
    private readonly provider: KeyProvider,
    private readonly store: DataKeyStore,
    private readonly dataKeys: Pick<DataKeys, 'shred'>,
    private readonly ids: IdGenerator,
    /** Tells every process a rotation happened (a shred tells them by itself, see ADR 0018). */
    private readonly invalidations?: Pick<KeyInvalidations, 'announceKekRotated'>,
  ) {}

  async shred(request: ShredRequest): Promise<ShredOutcome> {
    const reason = request.reason.trim();
    if (reason.length === 0 || reason.length > MAX_REASON) {
      throw new ValidationError(`a reason of 1 to ${MAX_REASON} characters is required`, 'reason');
    }
    if (request.streamId.startsWith(KEY_STREAM_PREFIX)) {
      throw new ValidationError(
        'the key stream records shredding and is never shredded',
        'streamId',
      );
    }
    const result = await this.dataKeys.shred({
      tenantId: request.tenantId,
      streamId: request.streamId,
      epoch: request.epoch,
    });
    const payload: DataKeysShreddedV1 = {
      streamId: request.streamId,
      epoch: request.epoch ?? null,
      keyIds: result.keyIds,
      reason,
    };
    const eventId = await this.record(request.tenantId, request.actor, 'DataKeysShredded', payload);
    return { keyIds: result.keyIds, wrapsDeleted: result.wrapsDeleted, eventId };
  }

  async rotate(
    tenantId: string,
    actor: Actor,
    options: RotationOptions = {},
  ): Promise<RotationOutcome> {
    const result = await rotateTenantKeys(this.provider, this.store, tenantId, options);
    await this.invalidations?.announceKekRotated(tenantId);
    const payload: KekRotatedV1 = {
      kekId: result.kekId,
      toVersion: result.toVersion,
      newVersion: result.newVersion,
      rewrapped: result.rewrapped,
      pruned: result.pruned,
    };
    const eventId = await this.record(tenantId, actor, 'KekRotated', payload);
    return { ...result, eventId };
  }

  private async record(tenantId: string, actor: Actor, type: string, payload: object) {
    const eventId = this.ids.next();
    await this.ledger.append(
      tenantId,
      keyStreamId(tenantId),
      [
        {
          eventId,
          type,
          schemaVersion: 1,
          metadata: { actor: { id: actor.id, kind: actor.kind } },
          payload: Buffer.from(JSON.stringify(payload), 'utf8'),
        },
      ],
      'any',
    );
    return eventId;
  }
}
