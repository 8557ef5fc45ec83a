import { LRUCache } from 'lru-cache';
import type { EventStore } from '@ledgerline/event-store';
import { UnavailableError, describeError } from '@ledgerline/kernel';
import { LiveLedgerFeed, type Ledger } from '@ledgerline/ledger';
import { CALL_STREAM_PREFIX } from '../domain/call-stream';
import { evolveCall, type CallState } from '../domain/call.decider';
import type { CallEvent } from '../domain/call.events';
import { openCallEvent } from './call-events.codec';
import type { CallStates } from './call-states';
import { callView, type CallView } from './call-views';

/** What changed, as a pushed `call` frame names it: the event's type and whom it was about. */
export interface CallChange {
  readonly type: CallEvent['type'];
  readonly userId?: string;
  readonly deviceId?: string;
  readonly reason?: string;
  readonly outcome?: string;
}

export interface CallUpdate {
  readonly tenantId: string;
  readonly call: CallView;
  readonly change: CallChange;
}

export interface CallFanOutLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

/**
 * Every node follows the call streams (one ledger subscription from the head of the log) and hands
 * each change of a call to the local watchers of the users it concerns: those in it, those being
 * rung, and those who were in it or rung just before (so a ringing phone stops when the call is
 * answered elsewhere or cancelled) and, for its end, everyone ever in it. Audit-only events (media
 * sessions) are not pushed.
 */
export class CallFanOut {
  private readonly feed: LiveLedgerFeed;
  private readonly states = new LRUCache<string, { state: CallState; revision: bigint }>({
    max: 10_000,
  });
  private readonly watchers = new Map<string, Set<(update: CallUpdate) => void>>();

  constructor(
    ledger: Pick<Ledger, 'subscribe'>,
    store: Pick<EventStore, 'headPosition'>,
    private readonly loader: Pick<CallStates, 'load'>,
    private readonly log: CallFanOutLog,
  ) {
    this.feed = new LiveLedgerFeed(ledger, store, {
      streamPrefix: CALL_STREAM_PREFIX,
      name: 'call events',
      onEvent: async (opened) => {
        const event = openCallEvent(opened);
        if (event && event.data.tenantId === opened.tenantId) {
          await this.route(opened.streamId, opened.revision, event);
        }
      },
      unavailable: () => new UnavailableError('call events are not live yet'),
      log,
    });
  }

  start(): void {
    this.feed.start();
  }

  stop(): Promise<void> {
    return this.feed.stop();
  }

  whenLive(timeoutMs: number): Promise<void> {
    return this.feed.whenLive(timeoutMs);
  }

  /** Changes of calls that concern the user, from every node, until the returned function is called. */
  watch(tenantId: string, userId: string, listener: (update: CallUpdate) => void): () => void {
    this.start();
    const key = JSON.stringify([tenantId, userId]);
    let set = this.watchers.get(key);
    if (!set) {
      set = new Set();
      this.watchers.set(key, set);
    }
    set.add(listener);
    const listeners = set;
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.watchers.get(key) === listeners) this.watchers.delete(key);
    };
  }

  private async route(streamId: string, revision: bigint, event: CallEvent): Promise<void> {
    const known = this.states.get(streamId);
    if (known && known.revision >= revision) return; // seen (a reload read past it)
    let before: CallState | undefined;
    let after: { state: CallState; revision: bigint };
    if (known && known.revision === revision - 1n) {
      before = known.state;
      after = { state: evolveCall(known.state, event), revision };
    } else {
      const loaded = await this.loader.load(event.data.tenantId, streamId, { cached: false });
      after = { state: loaded.state, revision: loaded.revision };
    }
    this.states.set(streamId, after);
    if (event.type === 'MediaSessionEnded' || after.state.status === 'none') return;
    const audience = new Set<string>([after.state.initiator]);
    for (const s of before ? [before, after.state] : [after.state]) {
      for (const d of Object.values(s.devices)) audience.add(d.userId);
      for (const u of s.ringing) audience.add(u);
    }
    // The end reaches everyone who was in the call (the last ones left in the same decision).
    if (event.type === 'CallEnded') for (const u of after.state.everJoined) audience.add(u);
    if (event.type === 'CallDeclined' || event.type === 'RingingStopped') {
      // The declining user's other devices stop ringing too.
      for (const u of event.type === 'CallDeclined' ? [event.data.userId] : event.data.unanswered) {
        audience.add(u);
      }
    }
    const update: CallUpdate = {
      tenantId: event.data.tenantId,
      call: callView(after.state, after.revision),
      change: changeOf(event),
    };
    for (const userId of audience) {
      for (const listener of this.watchers.get(JSON.stringify([update.tenantId, userId])) ?? []) {
        try {
          listener(update);
        } catch (error) {
          this.log.warn({ msg: 'call watcher threw', ...describeError(error) });
        }
      }
    }
  }
}

function changeOf(event: CallEvent): CallChange {
  switch (event.type) {
    case 'CallDeclined':
    case 'ParticipantDisconnected':
    case 'ParticipantReconnected':
      return { type: event.type, userId: event.data.userId, deviceId: event.data.deviceId };
    case 'ParticipantJoined':
      return { type: event.type, userId: event.data.userId, deviceId: event.data.deviceId };
    case 'ParticipantLeft':
      return {
        type: event.type,
        userId: event.data.userId,
        deviceId: event.data.deviceId,
        reason: event.data.reason,
      };
    case 'CallEnded':
      return { type: event.type, outcome: event.data.outcome };
    case 'CallStarted':
    case 'RingingStopped':
    case 'MediaSessionEnded':
    case 'MediaEngineFailed':
      return { type: event.type };
  }
}
