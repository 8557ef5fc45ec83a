import { Global, Logger, Module } from '@nestjs/common';
import {
  DATA_KEYS,
  DATA_KEY_STORE,
  KEY_INVALIDATIONS,
  KEY_PROVIDER,
  LEGAL_HOLDS,
  TENANT_KEKS,
  type DataKeyStore,
  type DataKeys,
  type KeyInvalidations,
  type KeyProvider,
  type LegalHolds,
  type TenantKeks,
} from '@ledgerline/crypto';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { CLOCK, ID_GENERATOR, type Clock, type IdGenerator } from '@ledgerline/kernel';
import { KeyLifecycle } from './key-lifecycle';
import { Ledger } from './ledger';
import { SIGNED_TAILS, type SignedTails } from './signed-tails.port';

export const LEDGER = Symbol('Ledger');
export const KEY_LIFECYCLE = Symbol('KeyLifecycle');

/**
 * The ledger on the process's event store and data keys. Integrity failures are logged at the
 * highest level with `alert: true` and the stream and revision only, for alerting rules to match.
 */
@Global()
@Module({
  providers: [
    {
      provide: LEDGER,
      inject: [EVENT_STORE, DATA_KEYS, CLOCK, { token: SIGNED_TAILS, optional: true }],
      useFactory: (
        store: EventStore,
        dataKeys: DataKeys,
        clock: Clock,
        signedTails: SignedTails | undefined,
      ) => {
        const logger = new Logger('Ledger');
        return new Ledger(store, dataKeys, {
          clock,
          signedTails,
          onIntegrityFailure: (e) =>
            logger.fatal({
              alert: true,
              code: e.code,
              streamId: e.streamId,
              revision: e.revision.toString(),
              failure: e.failure,
              msg: 'integrity check failed: event not served',
            }),
        });
      },
    },
    {
      provide: KEY_LIFECYCLE,
      inject: [
        LEDGER,
        KEY_PROVIDER,
        DATA_KEY_STORE,
        DATA_KEYS,
        ID_GENERATOR,
        { token: KEY_INVALIDATIONS, optional: true },
        { token: LEGAL_HOLDS, optional: true },
        { token: TENANT_KEKS, optional: true },
      ],
      useFactory: (
        ledger: Ledger,
        provider: KeyProvider,
        store: DataKeyStore,
        dataKeys: DataKeys,
        ids: IdGenerator,
        invalidations: KeyInvalidations | undefined,
        holds: LegalHolds | undefined,
        keks: TenantKeks | undefined,
      ) => new KeyLifecycle(ledger, provider, store, dataKeys, ids, { invalidations, holds, keks }),
    },
  ],
  exports: [LEDGER, KEY_LIFECYCLE],
})
export class LedgerModule {}
