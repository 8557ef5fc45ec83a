import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StepWork } from '../../report';

/** What the server and the database had done so far, read before and after a step. */
export interface WorkReading {
  /** SQL statements the server sent (all kinds), from its metrics. */
  readonly statements: number;
  /** Commits (explicit transactions and statements run outside one), from its metrics. */
  readonly commits: number;
  /** The server process's CPU time (user + system). */
  readonly serverCpuMs: number;
  /** CPU time of every process named `postgres` (user + system); undefined when none is visible. */
  readonly dbCpuMs: number | undefined;
}

/** Reads a server's work counters; SendLadder takes one reading before and one after each step. */
export interface WorkProbe {
  read(): Promise<WorkReading>;
}

/** What a step cost: the difference of two readings. */
export function workBetween(before: WorkReading, after: WorkReading): StepWork {
  return {
    statements: after.statements - before.statements,
    commits: after.commits - before.commits,
    serverCpuMs: after.serverCpuMs - before.serverCpuMs,
    ...(after.dbCpuMs === undefined || before.dbCpuMs === undefined
      ? {}
      : { dbCpuMs: after.dbCpuMs - before.dbCpuMs }),
  };
}

const STATEMENTS = 'ledgerline_sql_statements_total';
const COMMITS = 'ledgerline_sql_commits_total';
const SCRAPE_TIMEOUT_MS = 10_000;
/**
 * A reading waits for the server to go quiet: at most QUIET_STATEMENTS statements over QUIET_MS
 * (an idle server runs a few a second: pollers, presence), for up to SETTLE_MAX_MS. So the work a
 * step leaves behind (projections catching up after the deliveries) counts in that step.
 */
const QUIET_MS = 300;
const QUIET_STATEMENTS = 5;
const SETTLE_MAX_MS = 5_000;

/**
 * The Ledgerline server child's work: SQL statements and commits from its operator metrics
 * (`GET metricsUrl`), its CPU from /proc/<pid>/stat, and the database's CPU summed over every
 * `postgres` process of this machine, so the latter includes whatever else the cluster does
 * meanwhile (other sessions, autovacuum, checkpoints), and misses a backend that exited between
 * the two readings. Each reading first waits for the server to go quiet (see QUIET_MS).
 */
export class LedgerlineWorkProbe implements WorkProbe {
  private readonly msPerTick = 1000 / clockTicksPerSecond();

  constructor(
    private readonly metricsUrl: string,
    private readonly serverPid: number,
  ) {}

  async read(): Promise<WorkReading> {
    const metrics = await this.quiet();
    const [serverTicks, dbTicks] = await Promise.all([
      processTicks(this.serverPid),
      postgresTicks(),
    ]);
    if (serverTicks === undefined) throw new Error(`server process ${this.serverPid} is gone`);
    return {
      statements: counterSum(metrics, STATEMENTS),
      commits: counterSum(metrics, COMMITS),
      serverCpuMs: serverTicks * this.msPerTick,
      dbCpuMs: dbTicks === undefined ? undefined : dbTicks * this.msPerTick,
    };
  }

  /** The metrics once the server runs no more than an idle server's statements. */
  private async quiet(): Promise<string> {
    const until = Date.now() + SETTLE_MAX_MS;
    let metrics = await this.scrape();
    for (;;) {
      await sleep(QUIET_MS);
      const next = await this.scrape();
      const ran = counterSum(next, STATEMENTS) - counterSum(metrics, STATEMENTS);
      metrics = next;
      if (ran <= QUIET_STATEMENTS || Date.now() >= until) return metrics;
    }
  }

  private async scrape(): Promise<string> {
    const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET ${this.metricsUrl} answered ${res.status}`);
    return res.text();
  }
}

/**
 * The sum of every sample of the counter `name` in a Prometheus text exposition (all its label
 * sets); throws when there is none, so a renamed metric is not read as zero work.
 */
export function counterSum(text: string, name: string): number {
  let sum = 0;
  let samples = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // `name 12` or `name{kind="query"} 12`; not `name_created ...` or another metric's prefix.
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(
      rest
        .slice(rest.lastIndexOf('}') + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (!Number.isFinite(value)) continue;
    sum += value;
    samples += 1;
  }
  if (samples === 0) throw new Error(`the metrics have no ${name}`);
  return sum;
}

/** utime + stime of a process, in ms; undefined when it is gone. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  const ticks = await processTicks(pid);
  return ticks === undefined ? undefined : (ticks * 1000) / TICKS_PER_SECOND;
}

const TICKS_PER_SECOND = clockTicksPerSecond();

/**
 * A process's time on a CPU in ms, summed over its live threads from /proc/<pid>/task/<tid>/
 * schedstat (nanoseconds, so a short window of a light process still reads true, where
 * /proc/<pid>/stat counts 10 ms ticks); a thread that exited in between is missed. Falls back to
 * processCpuMs where schedstat is not there. Undefined when the process is gone.
 */
export async function processRunMs(pid: number): Promise<number | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  try {
    for (const tid of tids) {
      const line = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
      ns += Number(line.split(' ')[0]);
    }
  } catch {
    return processCpuMs(pid);
  }
  return Number.isFinite(ns) ? ns / 1e6 : processCpuMs(pid);
}

/** utime + stime of a process, in clock ticks; undefined when it is gone. */
async function processTicks(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After the command name (in parentheses, which may hold spaces): state is field 3, utime 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * utime + stime summed over every process whose comm is `postgres`, in clock ticks; undefined when
 * there is none (the database runs on another machine or in another PID namespace).
 */
async function postgresTicks(): Promise<number | undefined> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const ticks = await Promise.all(
    pids.map(async (pid) => {
      try {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8');
        return comm.trim() === 'postgres' ? processTicks(Number(pid)) : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  const seen = ticks.filter((t) => t !== undefined);
  return seen.length === 0 ? undefined : seen.reduce((a, b) => a + b, 0);
}

/** The kernel's USER_HZ (`getconf CLK_TCK`), in which /proc reports CPU times; 100 if unknown. */
function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
