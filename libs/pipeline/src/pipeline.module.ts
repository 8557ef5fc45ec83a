import {
  Global,
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { ACCESS_POLICY, type AccessPolicy } from '@ledgerline/identity';
import { ID_GENERATOR, type IdGenerator } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { METRICS, type Metrics } from '@ledgerline/metrics';
import { CommandRunner } from './commands/command-runner';
import { ProjectionProcessor } from './projections/projection-processor';

export const PROJECTION_PROCESSOR = Symbol('ProjectionProcessor');
export const COMMAND_RUNNER = Symbol('CommandRunner');
const PIPELINE_OPTIONS = Symbol('PipelineModuleOptions');

export interface PipelineModuleOptions {
  /**
   * Run the projections in this process: started once every module has registered its own (on
   * bootstrap), stopped before shutdown. Off for a process that only serves commands and queries,
   * and for the CLI, which rebuilds or replays on demand.
   */
  readonly runProjections?: boolean;
}

class ProjectionProcessorLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(PROJECTION_PROCESSOR) private readonly processor: ProjectionProcessor,
    @Inject(PIPELINE_OPTIONS) private readonly options: PipelineModuleOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.runProjections ?? true) this.processor.start();
  }

  // Before the database and the event store close.
  async beforeApplicationShutdown(): Promise<void> {
    await this.processor.stop();
  }
}

/**
 * The event pipeline every domain rides on: the one command runner (COMMAND_RUNNER) and the one
 * projection processor (PROJECTION_PROCESSOR), with which domain modules register their
 * projections when they are created. Needs SQL_CLIENT, LEDGER, ACCESS_POLICY and ID_GENERATOR
 * from the app.
 */
@Global()
@Module({})
export class PipelineModule {
  static forRoot(options: PipelineModuleOptions = {}): DynamicModule {
    return {
      module: PipelineModule,
      providers: [
        { provide: PIPELINE_OPTIONS, useValue: options },
        {
          provide: PROJECTION_PROCESSOR,
          inject: [SQL_CLIENT, LEDGER, { token: METRICS, optional: true }],
          useFactory: (client: SqlClient, ledger: Ledger, metrics?: Metrics) => {
            const logger = new Logger('Projections');
            return ProjectionProcessor.create(client, ledger, {
              log: { warn: (f) => logger.warn(f), error: (f) => logger.error(f) },
              ...(metrics
                ? {
                    metrics: {
                      applied: (name, count) => metrics.countProjectionEvents(name, count),
                      committed: () => undefined, // counted by the SqlClient's own metrics
                      lag: (name, seconds) => metrics.setProjectionLag(name, { seconds }),
                    },
                  }
                : {}),
            });
          },
        },
        {
          provide: COMMAND_RUNNER,
          inject: [LEDGER, ACCESS_POLICY, ID_GENERATOR, { token: METRICS, optional: true }],
          useFactory: (ledger: Ledger, access: AccessPolicy, ids: IdGenerator, metrics?: Metrics) =>
            new CommandRunner(ledger, access, { ids, ...(metrics ? { metrics } : {}) }),
        },
        ProjectionProcessorLifecycle,
      ],
      exports: [PROJECTION_PROCESSOR, COMMAND_RUNNER],
    };
  }
}
