import type { AccessRecorder } from '@ledgerline/identity';
import { describeError, Pause, type Clock } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { PushOutcome, PushRequest } from '../domain/push-payload';
import type { PushPlatform } from '../domain/push.events';
import { renderAlert, type PushTemplates } from '../domain/push-templates';
import { givesUp, retryDelayMs, type RetrySchedule } from '../domain/retry-schedule';
import type { PushCommands } from './push-commands.handler';
import { openPushEvent } from './push-events.codec';
import type { PushProvider } from './push-provider.port';
import type { ClaimedPush, PushOutbox } from './push-outbox.port';

/** Whether a user holds a live realtime connection anywhere (libs/presence's connection table). */
export interface OnlineCheck {
  isOnline(tenantId: string, userId: string): Promise<boolean>;
}

export interface PushDispatchLog {
  warn(fields: Record<string, unknown>): void;
}

/** What happened to one outbox row, for metrics and tests. Ids and codes only. */
export interface DispatchReport {
  readonly pushId: string;
  readonly deviceId: string;
  readonly outcome: 'sent' | 'retry' | 'given_up' | 'skipped_online' | 'device_gone';
  readonly reason?: string;
  /** From the first event's time to the provider's answer. */
  readonly latencyMs?: number;
}

export interface PushDispatcherOptions {
  readonly clock: Clock;
  readonly templates: PushTemplates;
  readonly retry: RetrySchedule;
  /** Rows claimed (and sent concurrently) at a time: the bound on memory and on provider load. */
  readonly batchSize: number;
  /** A claimed row not finished within this is claimed again (its process died). */
  readonly leaseMs: number;
  /** Idle wait between looks at the outbox; 0: only when `drain()` is called (tests). */
  readonly pollIntervalMs: number;
  readonly log: PushDispatchLog;
  readonly random?: () => number;
  readonly onReport?: (report: DispatchReport) => void;
}

const DISPATCHER = { id: 'ledgerline.push', kind: 'service' as const, roles: [] };

/**
 * Sends what the push projection put in the outbox. Each round claims up to `batchSize` due rows
 * under a lease (`for update skip locked`, so several processes share the outbox), then for each:
 *
 * - the user holds a live realtime connection: the row goes, nothing is sent (they see it live);
 * - otherwise the device's token is opened from its sealed registration event, the alert is
 *   rendered from the templates, and the platform's provider is called with the row's
 *   idempotency key. `sent` and every give-up (a dead token, a refusal, retries exhausted) delete
 *   the row and write an access record (`push.sent`, `push.given_up`: device, push and event ids,
 *   outcome; never content); a dead token also unregisters the device through the user's stream;
 *   `retry` keeps the row for an exponential, jittered delay (at least what the provider asked).
 *
 * A process killed mid-round leaves its rows leased; they are claimed again when the lease ends
 * and sent with the same idempotency key, which APNs and FCM collapse into the first.
 */
export class PushOutboxDispatcher {
  private readonly pause = new Pause();
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly random: () => number;

  constructor(
    private readonly outbox: PushOutbox,
    private readonly ledger: Pick<Ledger, 'readStream'>,
    private readonly providers: Readonly<Record<PushPlatform, PushProvider>>,
    private readonly online: OnlineCheck,
    private readonly audit: AccessRecorder,
    private readonly commands: Pick<PushCommands, 'system'>,
    private readonly options: PushDispatcherOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.running || this.options.pollIntervalMs <= 0) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.interrupt();
    await this.running;
    this.running = undefined;
  }

  /** Sends rounds until nothing is due; answers how many rows were handled. */
  async drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const n = await this.round();
      handled += n;
      if (n === 0) return handled;
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let handled = 0;
      try {
        handled = await this.round();
        failures = 0;
      } catch (error) {
        failures += 1;
        this.options.log.warn({
          msg: 'push outbox round failed; retrying',
          ...describeError(error),
        });
      }
      if (this.stopping) break;
      // A full round means more is due: go on at once. Otherwise wait (longer after failures).
      if (handled < this.options.batchSize || failures > 0) {
        await this.pause.sleep(this.options.pollIntervalMs * 2 ** Math.min(failures, 5));
      }
    }
  }

  /** One round: claim, send concurrently, settle each row. */
  async round(): Promise<number> {
    const rows = await this.claim();
    await Promise.all(rows.map((row) => this.dispatch(row)));
    return rows.length;
  }

  private claim(): Promise<ClaimedPush[]> {
    const now = this.options.clock.now();
    const leaseUntil = new Date(now.getTime() + this.options.leaseMs);
    return this.outbox.claim(now, leaseUntil, this.options.batchSize);
  }

  private async dispatch(row: ClaimedPush): Promise<void> {
    try {
      const { device } = row;
      if (device === undefined) {
        // Unregistered (or handed to another user) since it was queued.
        await this.remove(row);
        return this.report(row, 'device_gone');
      }
      if (await this.online.isOnline(row.tenantId, row.userId)) {
        await this.remove(row);
        return this.report(row, 'skipped_online');
      }
      const token = await this.tokenOf(device.tokenStreamId, device.tokenRevision);
      if (token === undefined) {
        // The user's keys were shredded: the token is unreadable for good.
        return this.giveUp(row, 'token_unreadable');
      }
      const payload = {
        kind: row.kind,
        conversationId: row.conversationId,
        count: row.eventCount,
      };
      const request: PushRequest = {
        idempotencyKey: row.pushId,
        deviceId: row.deviceId,
        platform: device.platform,
        environment: device.environment,
        appId: device.appId,
        token,
        payload,
        alert: renderAlert(this.options.templates, payload),
      };
      const outcome = await this.providers[device.platform].send(request);
      await this.settle(row, outcome);
    } catch (error) {
      // The database or the ledger failed: the lease runs out and the row is claimed again.
      this.options.log.warn({
        msg: 'push not dispatched; retried when its lease ends',
        pushId: row.pushId,
        deviceId: row.deviceId,
        ...describeError(error),
      });
    }
  }

  private async settle(row: ClaimedPush, outcome: PushOutcome): Promise<void> {
    switch (outcome.status) {
      case 'sent':
        await this.remove(row);
        await this.record(row, 'push.sent', 'allowed');
        return this.report(row, 'sent');
      case 'retry': {
        const failed = row.attempts + 1;
        if (givesUp(this.options.retry, failed)) {
          return this.giveUp(row, `retries_exhausted:${outcome.reason}`);
        }
        const delay = retryDelayMs(this.options.retry, failed, this.random(), outcome.retryAfterMs);
        const next = new Date(this.options.clock.now().getTime() + delay);
        // Leased until the retry: events meanwhile go to a new row, not into one being retried.
        await this.outbox.reschedule(row.pushId, failed, next);
        return this.report(row, 'retry', outcome.reason);
      }
      case 'dead_token':
        await this.giveUp(row, outcome.reason);
        await this.commands.system({
          type: 'UnregisterDevice',
          data: {
            tenantId: row.tenantId,
            userId: row.userId,
            deviceId: row.deviceId,
            reason: 'provider_rejected',
          },
        });
        return;
      case 'rejected':
        return this.giveUp(row, outcome.reason);
    }
  }

  private async giveUp(row: ClaimedPush, reason: string): Promise<void> {
    await this.remove(row);
    await this.record(row, 'push.given_up', 'failed', reason);
    this.report(row, 'given_up', reason);
  }

  private remove(row: ClaimedPush): Promise<void> {
    return this.outbox.remove(row.pushId);
  }

  private async tokenOf(streamId: string, revision: bigint): Promise<string | undefined> {
    const [opened] = await this.ledger.readStream(streamId, {
      fromRevision: revision,
      maxCount: 1,
    });
    const event = opened && openPushEvent(opened);
    return event?.type === 'PushDeviceRegistered' ? event.data.token : undefined;
  }

  private record(
    row: ClaimedPush,
    action: 'push.sent' | 'push.given_up',
    outcome: 'allowed' | 'failed',
    reason?: string,
  ): Promise<void> {
    return this.audit.record({
      tenantId: row.tenantId,
      actor: DISPATCHER,
      action,
      outcome,
      ...(reason ? { reason } : {}),
      conversationId: row.conversationId,
      resourceType: 'push_device',
      targetIds: [row.deviceId, row.pushId, row.firstEventId, row.lastEventId],
      subjectUserIds: [row.userId],
      origin: { transport: 'internal' },
    });
  }

  private report(row: ClaimedPush, outcome: DispatchReport['outcome'], reason?: string): void {
    this.options.onReport?.({
      pushId: row.pushId,
      deviceId: row.deviceId,
      outcome,
      ...(reason ? { reason } : {}),
      ...(outcome === 'sent'
        ? { latencyMs: this.options.clock.now().getTime() - row.eventAt.getTime() }
        : {}),
    });
  }
}
