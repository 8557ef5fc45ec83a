import {
  LegalHoldError,
  rotateTenantKeys,
  type DataKeys,
  type DataKeyStore,
  type KeyInvalidations,
  type KeyProvider,
  type LegalHold,
  type LegalHolds,
  type LegalHoldScope,
  type RotationOptions,
  type RotationResult,
  type TenantKeks,
} from '@ledgerline/crypto';
import {
  ConflictError,
  NotFoundError,
  ValidationError,
  type Actor,
  type IdGenerator,
} from '@ledgerline/kernel';
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

/** `LegalHoldPlaced` v1: `legacy` when sealing a reason an earlier version kept in clear. */
export interface LegalHoldPlacedV1 {
  readonly holdId: string;
  readonly streamId: string | null;
  readonly streamPrefix: string | null;
  readonly reason: string;
  readonly legacy?: true;
}
/** `LegalHoldReleased` v1. */
export interface LegalHoldReleasedV1 {
  readonly holdId: string;
  readonly reason: string;
}
/** `ShredRefused` v1: a shred a legal hold stopped (`reason` is the shred's own). */
export interface ShredRefusedV1 {
  readonly streamId: string;
  readonly epoch: string | null;
  readonly holdIds: readonly string[];
  readonly reason: string;
}

export interface HoldOutcome {
  readonly hold: LegalHold;
  readonly eventId: string;
}

/** A shred refused by legal holds, after the refusal was recorded (`eventId`). */
export class ShredRefusedError extends LegalHoldError {
  constructor(
    cause: LegalHoldError,
    readonly eventId: string,
  ) {
    super(cause.tenantId, cause.streamId, cause.holdIds);
  }
}

/** `KekVersionRetired` v1: a KEK version destroyed once nothing was wrapped under it. */
export interface KekVersionRetiredV1 {
  readonly kekId: string;
  readonly kekVersion: string;
}

/** A KEK version still in use (current, or data keys wrapped under it) cannot be retired. */
export class KekVersionInUseError extends ConflictError {
  override readonly code = 'kek_version_in_use';
}

/** The key provider keeps no key material Ledgerline could destroy (AWS KMS). */
export class KekRetirementUnsupportedError extends ConflictError {
  override readonly code = 'kek_retirement_unsupported';
}

/** The tenant has no active legal hold with this id. */
export class LegalHoldNotFoundError extends NotFoundError {
  override readonly code = 'legal_hold_not_found';
}

const MAX_REASON = 2_000;

function checkedReason(reason: unknown): string {
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  if (trimmed.length === 0 || trimmed.length > MAX_REASON) {
    throw new ValidationError(`a reason of 1 to ${MAX_REASON} characters is required`, 'reason');
  }
  return trimmed;
}

/**
 * Rotation, shredding and legal holds, each recorded as an event (what, when, who, why) in the
 * tenant's key stream, whose payloads are sealed: a hold's reason lives only there. Shredding
 * destroys the wraps first, then records the fact; a shred refused by a legal hold is recorded
 * too (`ShredRefused`) before the refusal is thrown. Placing and releasing a hold change the
 * registry first, then record the event and note its id on the hold; if recording fails the
 * error says so and the change stays visible in the registry.
 */
export class KeyLifecycle {
  constructor(
    private readonly ledger: Ledger,
    private readonly provider: KeyProvider,
    private readonly store: DataKeyStore,
    private readonly dataKeys: Pick<DataKeys, 'shred'>,
    private readonly ids: IdGenerator,
    private readonly deps: {
      /** Tells every process a rotation happened (a shred tells them by itself, ADR 0018). */
      readonly invalidations?: Pick<KeyInvalidations, 'announceKekRotated'>;
      readonly holds?: LegalHolds;
      /** Where the tenant's current KEK is recorded (ADR 0018); rotations record theirs there. */
      readonly keks?: TenantKeks;
    } = {},
  ) {}

  async shred(request: ShredRequest): Promise<ShredOutcome> {
    const reason = checkedReason(request.reason);
    if (request.streamId.startsWith(KEY_STREAM_PREFIX)) {
      throw new ValidationError(
        'the key stream records shredding and is never shredded',
        'streamId',
      );
    }
    let result: Awaited<ReturnType<DataKeys['shred']>>;
    try {
      result = await this.dataKeys.shred({
        tenantId: request.tenantId,
        streamId: request.streamId,
        epoch: request.epoch,
      });
    } catch (error) {
      if (!(error instanceof LegalHoldError)) throw error;
      const refusal: ShredRefusedV1 = {
        streamId: request.streamId,
        epoch: request.epoch ?? null,
        holdIds: error.holdIds,
        reason,
      };
      const eventId = await this.record(request.tenantId, request.actor, 'ShredRefused', refusal);
      throw new ShredRefusedError(error, eventId);
    }
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
    const result = await rotateTenantKeys(this.provider, this.store, tenantId, {
      ...options,
      keks: this.deps.keks,
      recordedBy: actor.id,
    });
    await this.deps.invalidations?.announceKekRotated(tenantId);
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

  /** Places a legal hold; its reason is sealed in the `LegalHoldPlaced` event, nowhere else. */
  async placeHold(scope: LegalHoldScope, reason: string, actor: Actor): Promise<HoldOutcome> {
    const holds = this.holdRegistry();
    const checked = checkedReason(reason);
    await this.sealLegacyHoldReasons(scope.tenantId, actor);
    const hold = await holds.add({ ...scope, placedBy: actor.id });
    const payload: LegalHoldPlacedV1 = {
      holdId: hold.holdId,
      streamId: hold.streamId ?? null,
      streamPrefix: hold.streamPrefix ?? null,
      reason: checked,
    };
    const eventId = await this.record(hold.tenantId, actor, 'LegalHoldPlaced', payload);
    await holds.noteEvent(hold.holdId, 'placed', eventId);
    return { hold: { ...hold, placedEventId: eventId }, eventId };
  }

  /** Releases the tenant's active hold `holdId`, for a stated reason (sealed in the event). */
  async releaseHold(
    tenantId: string,
    holdId: string,
    reason: string,
    actor: Actor,
  ): Promise<HoldOutcome> {
    const holds = this.holdRegistry();
    const checked = checkedReason(reason);
    await this.sealLegacyHoldReasons(tenantId, actor);
    const hold = await holds.release(tenantId, holdId, actor.id);
    if (!hold) {
      throw new LegalHoldNotFoundError(`tenant ${tenantId} has no active legal hold ${holdId}`);
    }
    const payload: LegalHoldReleasedV1 = { holdId, reason: checked };
    const eventId = await this.record(tenantId, actor, 'LegalHoldReleased', payload);
    await holds.noteEvent(holdId, 'released', eventId);
    return { hold: { ...hold, releasedEventId: eventId }, eventId };
  }

  /**
   * Seals reasons an earlier version stored in clear in `ll_legal_holds` into `LegalHoldPlaced`
   * events (marked `legacy`) and clears them from the table; how many it sealed.
   */
  async sealLegacyHoldReasons(tenantId: string | undefined, actor: Actor): Promise<number> {
    const holds = this.holdRegistry();
    const legacy = await holds.legacyReasons(tenantId);
    for (const { hold, reason } of legacy) {
      const payload: LegalHoldPlacedV1 = {
        holdId: hold.holdId,
        streamId: hold.streamId ?? null,
        streamPrefix: hold.streamPrefix ?? null,
        reason,
        legacy: true,
      };
      const eventId = await this.record(hold.tenantId, actor, 'LegalHoldPlaced', payload);
      await holds.noteEvent(hold.holdId, 'placed', eventId);
      await holds.clearLegacyReason(hold.holdId);
    }
    return legacy.length;
  }

  /**
   * Destroys KEK version `kekVersion` of the tenant's KEK in the key provider (local key ring),
   * refused while it is current (in the database or the provider) or any data key, of any
   * tenant, is still wrapped under it; recorded as `KekVersionRetired`.
   */
  async retireKekVersion(
    tenantId: string,
    kekVersion: string,
    actor: Actor,
  ): Promise<{ kekId: string; eventId: string }> {
    if (!this.provider.retireKekVersion) {
      throw new KekRetirementUnsupportedError(
        `the ${this.provider.kind} key provider keeps no key material to retire: once keys status shows nothing wrapped under an old KMS key, schedule its deletion in KMS`,
      );
    }
    const kek = await this.provider.describeKek(tenantId);
    const recorded = await this.deps.keks?.current(tenantId);
    if (
      kek.currentVersion === kekVersion ||
      (recorded?.kekId === kek.kekId && recorded.kekVersion === kekVersion)
    ) {
      throw new KekVersionInUseError(
        `KEK ${kek.kekId} version ${kekVersion} is tenant ${tenantId}'s current KEK; rotate first`,
      );
    }
    const wrapped = (await this.store.countByKekVersion())
      .filter((u) => u.kekId === kek.kekId && u.kekVersion === kekVersion)
      .reduce((n, u) => n + u.keys, 0);
    if (wrapped > 0) {
      throw new KekVersionInUseError(
        `${wrapped} data key(s) are still wrapped under KEK ${kek.kekId} version ${kekVersion}; run keys rotate --tenant ${tenantId} to re-wrap them first`,
      );
    }
    await this.provider.retireKekVersion(tenantId, kekVersion);
    const payload: KekVersionRetiredV1 = { kekId: kek.kekId, kekVersion };
    const eventId = await this.record(tenantId, actor, 'KekVersionRetired', payload);
    return { kekId: kek.kekId, eventId };
  }

  private holdRegistry(): LegalHolds {
    if (!this.deps.holds) throw new Error('KeyLifecycle was built without the legal-hold registry');
    return this.deps.holds;
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
