export {
  Ledger,
  monthEpoch,
  type LedgerKeys,
  type LedgerOptions,
  type OpenedBody,
  type OpenedEvent,
  type PlainEvent,
} from './ledger';
export { IntegrityError, type IntegrityFailure } from './ledger.errors';
export { SIGNED_TAILS, type SignedTails } from './signed-tails.port';
export { SEAL_KEY, sealOf, type SealInfo } from './sealed-envelope';
export {
  KeyLifecycle,
  keyStreamId,
  ShredRefusedError,
  LegalHoldNotFoundError,
  KekVersionInUseError,
  KekRetirementUnsupportedError,
  type KekVersionRetiredV1,
  type HoldOutcome,
  type LegalHoldPlacedV1,
  type LegalHoldReleasedV1,
  type ShredRefusedV1,
  type DataKeysShreddedV1,
  type KekRotatedV1,
  type RotationOutcome,
  type ShredOutcome,
  type ShredRequest,
} from './key-lifecycle';
export { LedgerModule, LEDGER, KEY_LIFECYCLE } from './ledger.module';
export { LiveLedgerFeed, type LiveLedgerFeedOptions, type LiveFeedLog } from './live-ledger-feed';
export { encryptPayload, decryptPayload } from './event-cipher';
export { sealMatches, canonicalHeader, chainHash } from './hash-chain';
