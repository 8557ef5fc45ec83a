import type { SqlExecutor } from '@ledgerline/database';
import type { AccessRecorder } from '@ledgerline/identity';
import type { Ledger } from '@ledgerline/ledger';
import type { PushKind } from '../domain/push-payload';
import type { PushEnvironment, PushPlatform } from '../domain/push.events';
import type { PushCommands } from '../application/push-commands.handler';
import {
  PushOutboxDispatcher,
  type OnlineCheck,
  type PushDispatcherOptions,
} from '../application/push-dispatcher';
import type { ClaimedPush, PushOutbox } from '../application/push-outbox.port';
import type { PushProvider } from '../application/push-provider.port';

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

/** The outbox in PostgreSQL/PGlite (`ll_push_outbox`, joined to `ll_push_devices`). */
export class SqlPushOutbox implements PushOutbox {
  constructor(private readonly db: SqlExecutor) {}

  async claim(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedPush[]> {
    const rows = await this.db.query<ClaimedRow>(
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
      [now, leaseUntil, limit],
    );
    return rows.map(claimedOf);
  }

  async reschedule(pushId: string, attempts: number, nextAttemptAt: Date): Promise<void> {
    await this.db.query(
      `update ll_push_outbox set attempts = $2, next_attempt_at = $3, lease_until = $3
           where push_id = $1`,
      [pushId, attempts, nextAttemptAt],
    );
  }

  async remove(pushId: string): Promise<void> {
    await this.db.query(`delete from ll_push_outbox where push_id = $1`, [pushId]);
  }
}

function claimedOf(row: ClaimedRow): ClaimedPush {
  return {
    pushId: row.push_id,
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    userId: row.user_id,
    conversationId: row.conversation_id,
    kind: row.kind,
    eventCount: Number(row.event_count),
    firstEventId: row.first_event_id,
    lastEventId: row.last_event_id,
    eventAt: new Date(row.event_at),
    attempts: Number(row.attempts),
    // The device's columns come from one row of ll_push_devices: present together or absent.
    device:
      row.platform === null || row.token_stream_id === null || row.token_revision === null
        ? undefined
        : {
            platform: row.platform,
            environment: row.environment!,
            appId: row.app_id!,
            tokenStreamId: row.token_stream_id,
            tokenRevision: BigInt(row.token_revision),
          },
  };
}

/**
 * The outbox dispatcher over the SQL outbox: PushOutboxDispatcher (application/push-dispatcher.ts)
 * composed with SqlPushOutbox, for callers that hold a database (the module, tests, the bench).
 */
export class PushDispatcher extends PushOutboxDispatcher {
  constructor(
    db: SqlExecutor,
    ledger: Pick<Ledger, 'readStream'>,
    providers: Readonly<Record<PushPlatform, PushProvider>>,
    online: OnlineCheck,
    audit: AccessRecorder,
    commands: Pick<PushCommands, 'system'>,
    options: PushDispatcherOptions,
  ) {
    super(new SqlPushOutbox(db), ledger, providers, online, audit, commands, options);
  }
}
