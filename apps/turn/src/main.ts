import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import {
  ConfigError,
  LedgerlineError,
  loadConfig,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { turnConfig } from '@ledgerline/turn';
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';
import { TurnAppModule } from './turn-app.module';

// Exit codes from sysexits.h, like the server's.
const EX_UNAVAILABLE = 69;
const EX_CONFIG = 78;

function fatal(message: string, code: number): never {
  process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), msg: message })}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let config: LedgerlineConfig;
  try {
    config = loadConfig(process.env, LEDGERLINE_LIBS);
  } catch (error) {
    fatal(error instanceof ConfigError ? error.message : 'invalid configuration', EX_CONFIG);
  }
  if (!config.slice(turnConfig).enabled && !config.slice(turnConfig).coturnStatsDbUrl) {
    fatal(
      'nothing to run: set LEDGERLINE_TURN_ENABLED=true (built-in relay) or LEDGERLINE_TURN_COTURN_STATSDB_URL (coturn audit)',
      EX_CONFIG,
    );
  }
  let app;
  try {
    app = await NestFactory.createApplicationContext(TurnAppModule.forRoot(config), {
      bufferLogs: true,
      abortOnError: false,
    });
    app.useLogger(app.get(Logger));
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
    await app.init();
  } catch (error) {
    if (error instanceof LedgerlineError && error.retryable)
      fatal(`cannot start: ${error.message}`, EX_UNAVAILABLE);
    if (error instanceof LedgerlineError) fatal(`cannot start: ${error.message}`, 1);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : 'unknown error'}\n`,
  );
  process.exit(1);
});
