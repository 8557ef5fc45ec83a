#!/usr/bin/env node
import * as nodeModule from 'node:module';
import { Command, CommanderError } from 'commander';
import {
  ConfigError,
  LedgerlineError,
  loadConfig,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';

type Register = (
  program: Command,
  config: () => LedgerlineConfig,
  out: (line: string) => void,
) => void;

/**
 * The command groups, each loaded only when named: an operator command loads the code of its own
 * group, not every lib the others need (the CLI starts in a fraction of the time).
 */
const GROUPS: Record<string, () => Promise<Register>> = {
  keys: async () => (await import('./keys.commands')).registerKeyCommands,
  projections: async () => (await import('./projections.commands')).registerProjectionCommands,
  apikeys: async () => (await import('./api-keys.commands')).registerApiKeyCommands,
  audit: async () => (await import('./audit.commands')).registerAuditCommands,
  replay: async () => (await import('./replay.commands')).registerReplayCommands,
  migrate: async () => (await import('./migrate.commands')).registerMigrateCommand,
};

// Exit codes from sysexits.h, as the server uses them.
const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const EX_CONFIG = 78;

/** `ledgerline`: operator commands. Configuration comes from the same environment as the server. */
export async function buildProgram(
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  argv: readonly string[] = [],
): Promise<Command> {
  let config: LedgerlineConfig | undefined;
  const program = new Command('ledgerline')
    .description('Ledgerline operator commands (same environment variables as the server)')
    .exitOverride()
    .showHelpAfterError();
  const configOnce = () => (config ??= loadConfig(process.env, LEDGERLINE_LIBS));
  // The group named on the command line alone; every group for help and for anything else.
  const named = argv.find((arg) => !arg.startsWith('-'));
  const groups = named !== undefined && named in GROUPS ? [named] : Object.keys(GROUPS);
  for (const group of groups) (await GROUPS[group]!())(program, configOnce, out);
  return program;
}

async function main(): Promise<void> {
  try {
    const program = await buildProgram(undefined, process.argv.slice(2));
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exit(error.exitCode === 0 ? 0 : EX_USAGE);
    }
    if (error instanceof ConfigError) fail(error.message, EX_CONFIG);
    if (error instanceof LedgerlineError) {
      fail(`${error.code}: ${error.message}`, error.retryable ? EX_UNAVAILABLE : 1);
    }
    // Unknown failures: no message, which could quote data; the stack's frames name code only.
    const frames =
      error instanceof Error ? (error.stack ?? '').split('\n').slice(1).join('\n') : '';
    fail(`unexpected failure (${error instanceof Error ? error.name : 'unknown'})\n${frames}`, 1);
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`ledgerline: ${message}\n`);
  process.exit(code);
}

if (require.main === module) {
  // Compiled code cached on disk (in the OS temporary directory) across runs: most of a CLI
  // command's start-up is compiling the libraries it loads.
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  void main();
}
