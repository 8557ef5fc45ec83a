import { resolve } from 'node:path';
import { identityConfig, resolveJwtSettings } from '@ledgerline/identity';
import {
  ConfigError,
  LedgerlineError,
  loadConfig,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { startServer } from './bootstrap';
import { LEDGERLINE_LIBS } from './lib-manifests';

// Exit codes from sysexits.h, so supervisors can tell "fix your config" from "dependency down".
const EX_UNAVAILABLE = 69;
const EX_CONFIG = 78;

function fatal(message: string, code: number): never {
  // One JSON line like every other log line; printed directly because the logger may not exist yet.
  process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), msg: message })}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let config: LedgerlineConfig;
  try {
    config = loadConfig(process.env, LEDGERLINE_LIBS);
    // The identity provider's settings are checked here, with the rest of the configuration, so a
    // missing one (or an http JWKS URL in production) is one JSON line and exit 78, not a failure
    // deep inside the module graph.
    if (!config.slice(identityConfig).devTokens)
      resolveJwtSettings(config.slice(identityConfig).jwt, config.env);
  } catch (error) {
    fatal(error instanceof ConfigError ? error.message : 'invalid configuration', EX_CONFIG);
  }

  let running;
  try {
    running = await startServer(config);
  } catch (error) {
    if (error instanceof ConfigError) fatal(error.message, EX_CONFIG);
    if (error instanceof LedgerlineError && error.retryable)
      fatal(`cannot start: ${error.message}`, EX_UNAVAILABLE);
    if (error instanceof LedgerlineError) fatal(`cannot start: ${error.message}`, 1);
    throw error;
  }

  const storage = config.storage.eventStoreUrl
    ? 'events in EventStoreDB'
    : config.storage.databaseUrl
      ? 'events in PostgreSQL'
      : `events in embedded PGlite at ${resolve(config.storage.dataDir, 'pglite')}`;
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), msg: `Ledgerline listening on ${running.url} (${storage})`, url: running.url })}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), msg: running.metricsUrl ? `metrics for operators on ${running.metricsUrl} (not on the public port)` : 'metrics listener off (LEDGERLINE_METRICS_ENABLED=false)', metricsUrl: running.metricsUrl ?? null })}\n`,
  );
  if (config.slice(identityConfig).devTokens) {
    process.stdout.write(
      `${JSON.stringify({ level: 40, time: Date.now(), msg: `development tokens are on: POST ${running.url}/dev/token with {"tenantId","userId"} (never in production)` })}\n`,
    );
  }

  const onSignal = (signal: NodeJS.Signals) => {
    const force = setTimeout(
      () => fatal(`shutdown took longer than ${config.http.shutdownTimeoutMs} ms; exiting`, 1),
      config.http.shutdownTimeoutMs,
    );
    force.unref();
    running.shutdown(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : 'unknown error'}\n`,
  );
  process.exit(1);
});
