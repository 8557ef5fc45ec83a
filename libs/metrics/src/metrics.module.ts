import { Global, Module } from '@nestjs/common';
import { Metrics } from './metrics';

/** The process's Metrics (one registry per process). Libs that may run without it inject it optionally. */
export const METRICS = Symbol('Metrics');

/** Provides METRICS to every module of the app; the app decides where it is served. */
@Global()
@Module({
  providers: [{ provide: METRICS, useFactory: () => new Metrics() }],
  exports: [METRICS],
})
export class MetricsModule {}
