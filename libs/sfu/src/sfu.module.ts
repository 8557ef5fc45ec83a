import {
  Inject,
  Logger,
  Module,
  Optional,
  type DynamicModule,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, ConfigError, type LedgerlineConfig } from '@ledgerline/kernel';
import { MediasoupSfu } from './adapters/mediasoup/mediasoup-sfu.adapter';
import { locateMediasoupWorker } from './adapters/mediasoup/mediasoup-worker-binary';
import { SFU_PORT, type SfuPort } from './sfu.port';
import { sfuConfig, type SfuSettings } from './sfu.config';

export interface SelectedSfu {
  readonly port: SfuPort | undefined;
  /** For the start-up log: which engine, or why none. */
  readonly description: string;
}

/**
 * The engine group calls get: mediasoup when chosen (or, with `auto`, when its worker binary is
 * found and starts), otherwise none, and group calls are refused with `sfu_unavailable`. An
 * explicit `mediasoup` that cannot start stops the process; `auto` falls back to none, saying why.
 */
export async function selectSfu(config: SfuSettings): Promise<SelectedSfu> {
  if (config.engine === 'none') {
    return { port: undefined, description: 'none (LEDGERLINE_SFU_ENGINE=none): 1:1 calls only' };
  }
  const explicit = config.engine === 'mediasoup';
  const binary = locateMediasoupWorker(config.mediasoup.workerBin);
  if (!binary) {
    const why = config.mediasoup.workerBin
      ? `MEDIASOUP_WORKER_BIN (${config.mediasoup.workerBin}) is not an executable file`
      : 'no mediasoup worker binary (build it with `npm run media:worker`)';
    if (explicit) throw new ConfigError([{ variable: 'MEDIASOUP_WORKER_BIN', problem: why }]);
    return { port: undefined, description: `none: ${why}; 1:1 calls only` };
  }
  if (!explicit && !binary.dtlsProbed) {
    return {
      port: undefined,
      description: `none: the mediasoup worker at ${binary.path} did not pass the DTLS probe of \`npm run media:worker\` (ADR 0025; LEDGERLINE_SFU_ENGINE=mediasoup uses it anyway); 1:1 calls only`,
    };
  }
  try {
    const port = await MediasoupSfu.start({ ...config.mediasoup, workerBin: binary.path });
    const workers = port.workerPids().length;
    return {
      port,
      description: `mediasoup ${binary.version} (${workers} workers, ${binary.path}, RTC ports ${config.mediasoup.minPort}-${config.mediasoup.maxPort})`,
    };
  } catch (error) {
    if (explicit) throw error;
    return {
      port: undefined,
      description: `none: mediasoup did not start (${(error as Error).message}); 1:1 calls only`,
    };
  }
}

class SfuLifecycle implements OnModuleDestroy {
  constructor(@Optional() @Inject(SFU_PORT) private readonly port: SfuPort | undefined) {}

  async onModuleDestroy(): Promise<void> {
    await this.port?.close();
  }
}

/** Provides SFU_PORT (undefined when no engine runs) and closes the engine on shutdown. Needs CONFIG. */
@Module({})
export class SfuModule {
  static forRoot(): DynamicModule {
    return {
      module: SfuModule,
      providers: [
        {
          provide: SFU_PORT,
          inject: [CONFIG],
          useFactory: async (config: LedgerlineConfig) => {
            const selected = await selectSfu(config.slice(sfuConfig));
            new Logger('Sfu').log({
              msg: `SFU engine: ${selected.description}`,
              engine: selected.port?.engine ?? 'none',
            });
            return selected.port;
          },
        },
        SfuLifecycle,
      ],
      exports: [SFU_PORT],
    };
  }
}
