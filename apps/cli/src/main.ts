#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import {
  ConfigError,
  LedgerlineError,
  loadConfig,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { registerApiKeyCommands } from './api-keys.commands';
import { registerAuditCommands } from './audit.commands';
import { registerKeyCommands } from './keys.commands';
import { registerProjectionCommands } from './projections.commands';
import { registerReplayCommands } from './replay.commands';

// Exit codes from sysexits.h, as the server uses them.
const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const EX_CONFIG = 78;

/** `ledgerline`: operator commands. Configuration comes from the same environment as the server. */
export function buildProgram(
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Command {
  let config: LedgerlineConfig | undefined;
  const program = new Command('ledgerline')
    .description('Ledgerline operator commands (same environment variables as the server)')
    .exitOverride()
    .showHelpAfterError();
  const configOnce = () => (config ??= loadConfig(process.env));
  registerKeyCommands(program, configOnce, out);
  registerProjectionCommands(program, configOnce, out);
  registerApiKeyCommands(program, configOnce, out);
  registerAuditCommands(program, configOnce, out);
  registerReplayCommands(program, configOnce, out);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
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

if (require.main === module) void main();
