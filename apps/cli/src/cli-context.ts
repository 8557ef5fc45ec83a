import 'reflect-metadata';
import { userInfo } from 'node:os';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ACCESS_RECORDER, type AccessRecord, type AccessRecorder } from '@ledgerline/identity';
import type { Actor, LedgerlineConfig } from '@ledgerline/kernel';
import { CliModule } from './cli.module';

/** Start-up notes (key ring created, master secret generated) go to stderr, results to stdout. */
class StderrLogger implements LoggerService {
  log(message: unknown) {
    this.write('info', message);
  }
  warn(message: unknown) {
    this.write('warn', message);
  }
  error(message: unknown) {
    this.write('error', message);
  }
  fatal(message: unknown) {
    this.write('fatal', message);
  }
  private write(level: string, message: unknown) {
    // Nest's own bootstrap chatter is noise for an operator.
    if (
      level === 'info' &&
      typeof message === 'string' &&
      /dependencies initialized|Starting Nest application/.test(message)
    )
      return;
    process.stderr.write(
      `${level}: ${typeof message === 'string' ? message : JSON.stringify(message)}\n`,
    );
  }
}

/** Runs `fn` with the composed services, closing the database (and its lock) afterwards. */
export async function withCliContext<T>(
  config: LedgerlineConfig,
  fn: (app: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), {
    logger: new StderrLogger(),
    abortOnError: false,
  });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** Who the log records as doing an operator command: the OS account that ran it. */
export function operatorActor(): Actor {
  return { id: `operator:${userInfo().username}`, kind: 'system' };
}

/**
 * Records an operator command as an access event in the tenant's audit stream (origin `cli`),
 * awaiting it: a command whose record cannot be written fails.
 */
export function recordOperatorAccess(
  app: INestApplicationContext,
  record: Omit<AccessRecord, 'actor' | 'origin' | 'outcome' | 'subjectUserIds'> &
    Partial<Pick<AccessRecord, 'outcome' | 'subjectUserIds'>>,
): Promise<void> {
  const actor = operatorActor();
  return app.get<AccessRecorder>(ACCESS_RECORDER).record({
    outcome: 'allowed',
    subjectUserIds: [],
    ...record,
    actor: { id: actor.id, kind: 'operator', roles: [] },
    origin: { transport: 'cli' },
  });
}
