import type { AccessActor, AccessRecord, AccessRecorder } from '@ledgerline/identity';
import { UnavailableError, type Actor, type Clock, type IdGenerator } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { auditStreamId } from '../audit-stream';
import { accessContentDigest, CONTENT_DIGEST_KEY } from './access-content';
import { ACCESS_RECORDED, accessRecordedPayload } from './access-recorded.event';

/** An access event could not be recorded: the request it describes must not be answered. */
export class AuditUnavailableError extends UnavailableError {
  override readonly code = 'audit_unavailable';
  constructor(options?: { cause?: unknown }) {
    super('the access event could not be recorded; try again', options);
  }
}

/** Where the recorder reports trouble: ids and codes only. */
export interface AccessRecorderLog {
  error(fields: Record<string, unknown>): void;
}

export interface LedgerAccessRecorderOptions {
  /** This process, written into every record's origin. */
  readonly node: string;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Records appended together at most (default 256). */
  readonly batchMax?: number;
  /** Tenants answered without waiting for their records (default: none; every tenant fails closed). */
  readonly failOpenTenants?: ReadonlySet<string>;
  readonly log?: AccessRecorderLog;
}

interface Pending {
  readonly record: AccessRecord;
  readonly at: Date;
  readonly done: { resolve(): void; reject(error: Error): void };
}

/**
 * Appends access records as sealed `AccessRecorded` events to the tenant's audit stream, with
 * group commit: records made while an append of the same tenant is in flight (or in the same turn
 * of the event loop) go into the next append together, so under load a read costs a share of one
 * append rather than an append of its own.
 *
 * Fail closed by default: `record` resolves once the batch holding the record is durable and
 * rejects with AuditUnavailableError when it is not. A fail-open tenant's `record` resolves at
 * once; a failed append is then logged (tenant, action and error code, never a record's ids).
 */
export class LedgerAccessRecorder implements AccessRecorder {
  private readonly queues = new Map<string, Pending[]>();
  private readonly flushing = new Map<string, Promise<void>>();
  private readonly batchMax: number;
  private readonly failOpen: ReadonlySet<string>;

  constructor(
    private readonly ledger: Pick<Ledger, 'append'>,
    private readonly options: LedgerAccessRecorderOptions,
  ) {
    this.batchMax = options.batchMax ?? 256;
    this.failOpen = options.failOpenTenants ?? new Set();
  }

  record(record: AccessRecord): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(record.tenantId) ?? [];
      this.queues.set(record.tenantId, queue);
      queue.push({ record, at: this.options.clock.now(), done: { resolve, reject } });
      if (!this.flushing.has(record.tenantId)) this.startFlush(record.tenantId);
    });
    if (!this.failOpen.has(record.tenantId)) return durable;
    durable.catch(() => undefined); // logged by the flush
    return Promise.resolve();
  }

  /** Resolves when every record made so far has been appended or has failed. */
  async drain(): Promise<void> {
    while (this.flushing.size > 0) await Promise.all(this.flushing.values());
  }

  private startFlush(tenantId: string): void {
    const run = (async () => {
      // Let the records of this turn of the event loop join the first batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (;;) {
        const queue = this.queues.get(tenantId);
        if (!queue || queue.length === 0) {
          // In the same synchronous step as the check: a record made after it starts a new flush.
          this.queues.delete(tenantId);
          this.flushing.delete(tenantId);
          return;
        }
        await this.append(tenantId, queue.splice(0, this.batchMax));
      }
    })();
    this.flushing.set(tenantId, run);
  }

  private async append(tenantId: string, batch: Pending[]): Promise<void> {
    try {
      await this.ledger.append(
        tenantId,
        auditStreamId(tenantId),
        batch.map(({ record, at }) => {
          const payload = Buffer.from(
            JSON.stringify(
              accessRecordedPayload(
                { ...record, origin: record.origin ?? { transport: 'internal' } },
                this.options.node,
                at,
              ),
            ),
            'utf8',
          );
          return {
            eventId: this.options.ids.next(),
            type: ACCESS_RECORDED,
            schemaVersion: 1,
            // The digest commits the seal, and so the signed tree, to what the record says.
            metadata: {
              actor: eventActorOf(record.actor),
              [CONTENT_DIGEST_KEY]: accessContentDigest(payload),
            },
            payload,
          };
        }),
        'any',
      );
      for (const p of batch) p.done.resolve();
    } catch (error) {
      this.options.log?.error({
        msg: 'access events could not be recorded',
        tenantId,
        records: batch.length,
        actions: [...new Set(batch.map((p) => p.record.action))],
        code: error instanceof Error && 'code' in error ? String(error.code) : 'unknown',
      });
      const failure = new AuditUnavailableError({ cause: error });
      for (const p of batch) p.done.reject(failure);
    }
  }
}

/** The clear-text actor of the event: an operator or a refused caller is `system`. */
function eventActorOf(actor: AccessActor): Actor {
  switch (actor.kind) {
    case 'user':
    case 'service':
    case 'agent':
      return { id: actor.id, kind: actor.kind };
    case 'operator':
    case 'anonymous':
      return { id: actor.id, kind: 'system' };
  }
}
