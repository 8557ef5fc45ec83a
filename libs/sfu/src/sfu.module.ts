import {
  Inject,
  Logger,
  Module,
  Optional,
  type DynamicModule,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, ConfigError, type LedgerlineConfig } from '@ledgerline/kernel';
import { JanusSfu } from './adapters/janus/janus-sfu.adapter';
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
 * The engine group calls get. `mediasoup` or `janus` chosen explicitly must start, or the process
 * stops. `auto` takes mediasoup when its worker binary is found, passed the DTLS probe and starts;
 * otherwise Janus when LEDGERLINE_SFU_JANUS_URL is set and Janus answers; otherwise none, and
 * group calls are refused with `sfu_unavailable`. The description says which, or why none.
 */
export async function selectSfu(config: SfuSettings): Promise<SelectedSfu> {
  if (config.engine === 'none') {
    return { port: undefined, description: 'none (LEDGERLINE_SFU_ENGINE=none): 1:1 calls only' };
  }
  if (config.engine === 'janus') {
    if (!config.janus) {
      throw new ConfigError([
        {
          variable: 'LEDGERLINE_SFU_JANUS_URL',
          problem: 'required when LEDGERLINE_SFU_ENGINE=janus',
        },
      ]);
    }
    return startJanus(config.janus);
  }
  const mediasoup = await tryMediasoup(config, config.engine === 'mediasoup');
  if ('port' in mediasoup) return mediasoup;
  if (!config.janus)
    return { port: undefined, description: `none: ${mediasoup.why}; 1:1 calls only` };
  try {
    const janus = await startJanus(config.janus);
    return {
      port: janus.port,
      description: `${janus.description}; mediasoup passed over: ${mediasoup.why}`,
    };
  } catch (error) {
    return {
      port: undefined,
      description: `none: ${mediasoup.why}; Janus did not answer (${(error as Error).message}); 1:1 calls only`,
    };
  }
}

/** mediasoup when it can run; under `auto`, why not otherwise (explicit: throws). */
async function tryMediasoup(
  config: SfuSettings,
  explicit: boolean,
): Promise<SelectedSfu | { readonly why: string }> {
  const binary = locateMediasoupWorker(config.mediasoup.workerBin);
  if (!binary) {
    const why = config.mediasoup.workerBin
      ? `MEDIASOUP_WORKER_BIN (${config.mediasoup.workerBin}) is not an executable file`
      : 'no mediasoup worker binary (build it with `npm run media:worker`)';
    if (explicit) throw new ConfigError([{ variable: 'MEDIASOUP_WORKER_BIN', problem: why }]);
    return { why };
  }
  if (!explicit && !binary.dtlsProbed) {
    return {
      why: `the mediasoup worker at ${binary.path} did not pass the DTLS probe of \`npm run media:worker\` (ADR 0025; LEDGERLINE_SFU_ENGINE=mediasoup uses it anyway)`,
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
    return { why: `mediasoup did not start (${(error as Error).message})` };
  }
}

/** Janus over its WebSocket API; throws SfuUnavailableError when it does not answer. */
async function startJanus(janus: NonNullable<SfuSettings['janus']>): Promise<SelectedSfu> {
  const port = await JanusSfu.start(janus);
  // The host only: a URL may carry credentials.
  const where = new URL(janus.url).host;
  const counters = janus.adminUrl ? 'counters from its Admin API' : 'no Admin API: counters stay 0';
  return { port, description: `janus VideoRoom at ${where} (${counters})` };
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
