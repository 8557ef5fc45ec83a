import type { SqlExecutor } from '@ledgerline/database';
import type { AccessRecorder } from '@ledgerline/identity';
import { describeError, Pause, type Clock } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { PushKind, PushOutcome, PushRequest } from '../domain/push-payload';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';
import { renderAlert, type PushTemplates } from '../domain/push-templates';
import { givesUp, retryDelayMs, type RetrySchedule } from '../domain/retry-schedule';
import type { PushCommands } from './push-commands.handler';
import { openPushEvent } from './push-events.codec';
import type { PushProvider } from './push-provider.port';

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

interface ClaimedRow {
  push_id: string;
  tenant_id: string;
  device_id: string;
  user_id: string;
  conversation_id: string;
  kind: PushKind;
  event_count: number;
  first_event_id: string;
  last_event_id: string;
  event_at: Date;
  attempts: number;
  platform: PushPlatform | null;
  environment: PushEnvironment | null;
  app_id: string | null;
  token_stream_id: string | null;
  token_revision: string | null;
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
export class PushDispatcher {
  private readonly pause = new Pause();
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly random: () => number;

  constructor(
    private readonly db: SqlExecutor,
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

  private async claim(): Promise<ClaimedRow[]> {
    const now = this.options.clock.now();
    const leaseUntil = new Date(now.getTime() + this.options.leaseMs);
    return this.db.query<ClaimedRow>(
      `with due as (
         select push_id from ll_push_outbox
         where next_attempt_at <= $1 and (lease_until is null or lease_until <= $1)
         order by next_attempt_at
         limit $3
         for update skip locked
       ), claimed as (
         update ll_push_outbox o set lease_until = $2
         from due where o.push_id = due.push_id
         returning o.*
       )
       select c.push_id::text as push_id, c.tenant_id, c.device_id::text as device_id, c.user_id,
         c.conversation_id, c.kind, c.event_count, c.first_event_id::text as first_event_id,
         c.last_event_id::text as last_event_id, c.event_at, c.attempts,
         d.platform, d.environment, d.app_id, d.token_stream_id,
         d.token_revision::text as token_revision
       from claimed c
       left join ll_push_devices d
         on d.tenant_id = c.tenant_id and d.device_id = c.device_id and d.user_id = c.user_id`,
      [now, leaseUntil, this.options.batchSize],
    );
  }

  private async dispatch(row: ClaimedRow): Promise<void> {
    try {
      if (row.platform === null || row.token_stream_id === null || row.token_revision === null) {
        // Unregistered (or handed to another user) since it was queued.
        await this.remove(row);
        return this.report(row, 'device_gone');
      }
      if (await this.online.isOnline(row.tenant_id, row.user_id)) {
        await this.remove(row);
        return this.report(row, 'skipped_online');
      }
      const token = await this.tokenOf(row.token_stream_id, BigInt(row.token_revision));
      if (token === undefined) {
        // The user's keys were shredded: the token is unreadable for good.
        return this.giveUp(row, 'token_unreadable');
      }
      const payload = {
        kind: row.kind,
        conversationId: row.conversation_id,
        count: Number(row.event_count),
      };
      const request: PushRequest = {
        idempotencyKey: row.push_id,
        deviceId: row.device_id,
        platform: row.platform,
        environment: row.environment!,
        appId: row.app_id!,
        token,
        payload,
        alert: renderAlert(this.options.templates, payload),
      };
      const outcome = await this.providers[row.platform].send(request);
      await this.settle(row, outcome);
    } catch (error) {
      // The database or the ledger failed: the lease runs out and the row is claimed again.
      this.options.log.warn({
        msg: 'push not dispatched; retried when its lease ends',
        pushId: row.push_id,
        deviceId: row.device_id,
        ...describeError(error),
      });
    }
  }

  private async settle(row: ClaimedRow, outcome: PushOutcome): Promise<void> {
    switch (outcome.status) {
      case 'sent':
        await this.remove(row);
        await this.record(row, 'push.sent', 'allowed');
        return this.report(row, 'sent');
      case 'retry': {
        const failed = Number(row.attempts) + 1;
        if (givesUp(this.options.retry, failed)) {
          return this.giveUp(row, `retries_exhausted:${outcome.reason}`);
        }
        const delay = retryDelayMs(this.options.retry, failed, this.random(), outcome.retryAfterMs);
        const next = new Date(this.options.clock.now().getTime() + delay);
        // Leased until the retry: events meanwhile go to a new row, not into one being retried.
        await this.db.query(
          `update ll_push_outbox set attempts = $2, next_attempt_at = $3, lease_until = $3
           where push_id = $1`,
          [row.push_id, failed, next],
        );
        return this.report(row, 'retry', outcome.reason);
      }
      case 'dead_token':
        await this.giveUp(row, outcome.reason);
        await this.commands.system({
          type: 'UnregisterDevice',
          data: {
            tenantId: row.tenant_id,
            userId: row.user_id,
            deviceId: row.device_id,
            reason: 'provider_rejected',
          },
        });
        return;
      case 'rejected':
        return this.giveUp(row, outcome.reason);
    }
  }

  private async giveUp(row: ClaimedRow, reason: string): Promise<void> {
    await this.remove(row);
    await this.record(row, 'push.given_up', 'failed', reason);
    this.report(row, 'given_up', reason);
  }

  private async remove(row: ClaimedRow): Promise<void> {
    await this.db.query(`delete from ll_push_outbox where push_id = $1`, [row.push_id]);
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
    row: ClaimedRow,
    action: 'push.sent' | 'push.given_up',
    outcome: 'allowed' | 'failed',
    reason?: string,
  ): Promise<void> {
    return this.audit.record({
      tenantId: row.tenant_id,
      actor: DISPATCHER,
      action,
      outcome,
      ...(reason ? { reason } : {}),
      conversationId: row.conversation_id,
      resourceType: 'push_device',
      targetIds: [row.device_id, row.push_id, row.first_event_id, row.last_event_id],
      subjectUserIds: [row.user_id],
      origin: { transport: 'internal' },
    });
  }

  private report(row: ClaimedRow, outcome: DispatchReport['outcome'], reason?: string): void {
    this.options.onReport?.({
      pushId: row.push_id,
      deviceId: row.device_id,
      outcome,
      ...(reason ? { reason } : {}),
      ...(outcome === 'sent'
        ? { latencyMs: this.options.clock.now().getTime() - new Date(row.event_at).getTime() }
        : {}),
    });
  }
}
