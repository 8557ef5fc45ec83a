import { LRUCache } from 'lru-cache';
import type { Ledger } from '@ledgerline/ledger';
import type { LoadedState, StateLoader } from '@ledgerline/pipeline';
import { evolveCall, initialCallState, type CallState } from '../domain/call.decider';
import type { CallEvent } from '../domain/call.events';
import { openCallEvent } from './call-events.codec';

export type LoadedCall = LoadedState<CallState>;

/**
 * Calls' decided states for the command runner: the state held in memory brought up to date by
 * reading only the events after it (usually none: one short read), or, after a lost race, the
 * call's whole stream (a call has tens of events). A cached state never goes back to an older
 * revision, so a decision that appends nothing is never made on a stale state. Events of a
 * shredded stream fold as nothing.
 */
export class CallStates implements StateLoader<CallState, LoadedCall> {
  private readonly cache: LRUCache<string, LoadedCall>;

  constructor(
    private readonly ledger: Pick<Ledger, 'readStream'>,
    options: { readonly maxCalls?: number } = {},
  ) {
    this.cache = new LRUCache({ max: options.maxCalls ?? 10_000 });
  }

  async load(
    _tenantId: string,
    streamId: string,
    options: { readonly cached: boolean },
  ): Promise<LoadedCall> {
    const hit = options.cached ? this.cache.get(streamId) : undefined;
    let state = hit?.state ?? initialCallState();
    let revision = hit?.revision ?? -1n;
    for (;;) {
      const page = await this.ledger.readStream(streamId, {
        fromRevision: revision + 1n,
        maxCount: 500,
      });
      for (const opened of page) {
        const event = openCallEvent(opened);
        if (event) state = evolveCall(state, event);
        revision = opened.revision;
      }
      if (page.length < 500) break;
    }
    return this.keep({ streamId, state, revision });
  }

  /** The state after `events` were appended at `revision` (the last one's). */
  appended(loaded: LoadedCall, events: readonly CallEvent[], revision: bigint): LoadedCall {
    return this.keep({
      streamId: loaded.streamId,
      state: events.reduce(evolveCall, loaded.state),
      revision,
    });
  }

  /** Caches `loaded` unless a newer state is cached already. */
  private keep(loaded: LoadedCall): LoadedCall {
    const known = this.cache.get(loaded.streamId);
    if (!known || known.revision <= loaded.revision) this.cache.set(loaded.streamId, loaded);
    return loaded;
  }

  forget(streamId: string): void {
    this.cache.delete(streamId);
  }
}
