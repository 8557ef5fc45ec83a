import { Global, Module } from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { SIGNED_TAILS } from '@ledgerline/ledger';
import { MerkleSignedTails } from './merkle-signed-tails';

/**
 * SIGNED_TAILS for the process's ledger (LedgerModule injects it when present): every read that
 * reaches the end of a stream is held against the latest signed checkpoint, so a cut tail fails as
 * `stream_truncated` and raises the ledger's integrity alert. The server (AuditModule) and the CLI
 * import it.
 */
@Global()
@Module({
  providers: [
    {
      provide: SIGNED_TAILS,
      inject: [SQL_CLIENT],
      useFactory: (client: SqlClient) => MerkleSignedTails.create(client),
    },
  ],
  exports: [SIGNED_TAILS],
})
export class SignedTailsModule {}
