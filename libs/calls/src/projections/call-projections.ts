import type { GlobalPosition } from '@ledgerline/kernel';
import type { ProjectionProcessor } from '@ledgerline/pipeline';
import { CALL_STATE_PROJECTION, callStateProjection } from './call-state.projection';

/** The calls read models on the process's one ProjectionProcessor. */
export class CallProjections {
  private constructor(private readonly processor: ProjectionProcessor) {}

  /** Registers the read models with the app's processor (their tables are migrated at start). */
  static register(processor: ProjectionProcessor): CallProjections {
    processor.register(callStateProjection);
    return new CallProjections(processor);
  }

  /** Resolves once the calls read models hold the log up to `position`. */
  waitFor(position: GlobalPosition, timeoutMs?: number): Promise<void> {
    return this.processor.waitFor(position, { timeoutMs, names: [CALL_STATE_PROJECTION] });
  }
}
