import { LRUCache } from 'lru-cache';
import type { Ledger } from '@ledgerline/ledger';
import type { LoadedState, StateLoader } from '@ledgerline/pipeline';
import { evolveCall, initialCallState, type CallState } from '../domain/call.decider';
import type { CallEvent } from '../domain/call.events';
import { openCallEvent } from './call-events.codec';

export type LoadedCall = LoadedState<CallState>;

/**
 * Calls' decided states for the command runner: from memory when asked for a cached one (the
 * append's expected revision proves it current), else from the call's stream (a call has tens of
 * events, so it is read whole). Events of a shredded stream fold as nothing.
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
    if (options.cached) {
      const hit = this.cache.get(streamId);
      if (hit) return hit;
    }
    let state = initialCallState();
    let revision = -1n;
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
    const loaded = { streamId, state, revision };
    this.cache.set(streamId, loaded);
    return loaded;
  }

  /** The state after `events` were appended at `revision` (the last one's). */
  appended(loaded: LoadedCall, events: readonly CallEvent[], revision: bigint): LoadedCall {
    const next = {
      streamId: loaded.streamId,
      state: events.reduce(evolveCall, loaded.state),
      revision,
    };
    this.cache.set(loaded.streamId, next);
    return next;
  }

  forget(streamId: string): void {
    this.cache.delete(streamId);
  }
}
