import { migrate, type SqlClient } from '@ledgerline/database';
import type { GlobalPosition } from '@ledgerline/kernel';
import type { ProjectionProcessor } from '@ledgerline/pipeline';
import { CALL_STATE_PROJECTION, callStateProjection } from './call-state.projection';
import { callReadModelMigrations } from './calls.migrations';

/** The calls read models on the process's one ProjectionProcessor. */
export class CallProjections {
  private constructor(private readonly processor: ProjectionProcessor) {}

  /** Migrates the read models and registers them with the app's processor. */
  static async register(
    client: SqlClient,
    processor: ProjectionProcessor,
  ): Promise<CallProjections> {
    await migrate(client, 'calls', callReadModelMigrations);
    processor.register(callStateProjection);
    return new CallProjections(processor);
  }

  /** Resolves once the calls read models hold the log up to `position`. */
  waitFor(position: GlobalPosition, timeoutMs?: number): Promise<void> {
    return this.processor.waitFor(position, { timeoutMs, names: [CALL_STATE_PROJECTION] });
  }
}
