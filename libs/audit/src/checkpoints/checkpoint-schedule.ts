import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { CLOCK, CONFIG, type Clock, type LedgerlineConfig } from '@ledgerline/kernel';
import { CheckpointRaceError } from './checkpoint.errors';
import { CheckpointJob } from './checkpoint-job';
import { openDeploymentSigner } from './deployment-signer';
import { MerkleLogStore } from './merkle-log-store';
import { auditConfig } from '../audit.config';

/**
 * Runs the signed Merkle checkpoint every LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS (0: never), on
 * every node: the log store lets one node win each round, and the others skip it. A backlog is
 * folded in several runs back to back. A failed run is logged (codes only) and retried next time;
 * it never stops the server. Shutdown waits for a run in progress.
 */
@Injectable()
export class CheckpointSchedule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditCheckpoint');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: LedgerlineConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_CLIENT) private readonly client: SqlClient,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.slice(auditConfig).checkpointIntervalMs === 0) return;
    // Opened now so a bad provided key or certificate stops the start, not the first run.
    const signer = await openDeploymentSigner(this.config, true);
    const job = new CheckpointJob(
      this.store,
      MerkleLogStore.create(this.client),
      signer,
      this.clock,
    );
    this.logger.log(
      `signing checkpoints every ${this.config.slice(auditConfig).checkpointIntervalMs} ms (certificate SHA-256 ${signer.certificate.fingerprint})`,
    );
    this.schedule(job);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(job: CheckpointJob): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce(job).finally(() => {
        this.running = undefined;
        this.schedule(job);
      });
    }, this.config.slice(auditConfig).checkpointIntervalMs);
    this.timer.unref();
  }

  private async runOnce(job: CheckpointJob): Promise<void> {
    try {
      for (let more = true; more && !this.stopped;) {
        const outcome = await job.run();
        more = outcome.status === 'signed' && outcome.more;
        if (outcome.status === 'signed') {
          this.logger.log({
            msg: 'signed tree head',
            treeSize: outcome.head.treeSize,
            added: outcome.added,
          });
        }
      }
    } catch (error) {
      if (error instanceof CheckpointRaceError) return; // another node signed this round
      this.logger.error({
        msg: 'checkpoint failed; retrying at the next interval',
        code: error instanceof Error && 'code' in error ? String(error.code) : 'unknown',
      });
    }
  }
}
