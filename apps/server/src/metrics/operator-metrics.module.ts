import {
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, type LedgerlineConfig } from '@ledgerline/kernel';
import { METRICS, MetricsListener, MetricsModule, type Metrics } from '@ledgerline/metrics';

/**
 * The operator listener: GET /metrics on its own host and port (LEDGERLINE_METRICS_HOST/PORT,
 * loopback by default), never on the public port. Starts with the app, closes with it.
 */
@Injectable()
export class OperatorMetrics implements OnApplicationBootstrap, OnModuleDestroy {
  private listener: MetricsListener | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: LedgerlineConfig,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /** `http://host:port/metrics` once started; undefined when turned off. */
  get url(): string | undefined {
    return this.listener?.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.metrics.enabled) return;
    this.listener = await MetricsListener.start(this.metrics, this.config.metrics);
  }

  async onModuleDestroy(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }
}

/** The process's Metrics (global METRICS, for every lib) and the operator listener serving them. */
@Module({
  imports: [MetricsModule],
  providers: [OperatorMetrics],
  exports: [OperatorMetrics],
})
export class OperatorMetricsModule {}
