/**
 * `npm run bench`: how fast Ledgerline's write and read paths are, as a ratio to what the layer
 * below does with the same bytes, measured in the same run; and how many KMS calls sealing and
 * reading make.
 *
 * How to read the first table
 * - Each row is one scenario at one variant (payload size; cold or warm data-key cache), batch
 *   size and concurrency. `batch` is the number of events per operation (one `appendToStream` or
 *   `Ledger.append` call, one INSERT statement, each its own transaction; one page read; one
 *   checkpoint run), `concurrency` the number of workers, each running its operations back to back.
 * - `events/s` is events written (or read) per second of wall-clock time, all workers together.
 *   `p50 ms` / `p99 ms` are latencies of one operation, i.e. of a whole batch, not per event.
 * - The `ref` columns are the reference measured next to it, at the same batch and concurrency:
 *   - `event-store append`: a plain multi-row INSERT of rows with the same ids, stream ids,
 *     metadata and 512-byte payloads into a table without keys, indexes or triggers.
 *   - `sealed append`: `SqlEventStore.appendToStream` of the same payloads unsealed, so the ratio
 *     is the cost of sealing (AES-256-GCM, the hash chain, the data-key reservation, which is an
 *     UPDATE of its own, and a new data key for every new stream).
 *   - `sealed read`: `SqlEventStore.readStream` of the same sealed rows, so the ratio is the cost
 *     of opening them (chain and seal checks, their extra lookups, decryption; cold rows add the
 *     data-key lookup and unwrap a fresh process makes).
 *   - `audited history read`: the same history page (`ConversationQueries.messages`, the newest 50
 *     messages of a 10-member group) with auditing off, through a recorder that records nothing
 *     and exists only in the bench; so the ratio is the cost of the page's access event, sealed
 *     and appended to the tenant's audit stream by `LedgerAccessRecorder` before the page is
 *     answered (fail closed). At concurrency 16 concurrent pages share appends (group commit).
 *   - `checkpoint throughput`: `SqlEventStore.readAll` of the same pages of sealed events, so the
 *     ratio is the cost of folding them into the signed Merkle log (seal checks, leaf hashes, the
 *     frontier, storing the leaves, signing the head); `events/s` is events folded per second.
 * - `ratio events/s` = subject / reference throughput: 0.40x means the store writes 40% as many
 *   events per second as the bare INSERT. `ratio p50` / `ratio p99` = subject / reference latency:
 *   2.50x means an append takes 2.5 times as long. The ratios are the figures to compare across
 *   machines and commits; the absolute figures depend on the disk (every commit waits for its WAL
 *   flush when synchronous_commit is on), the CPU count and whatever else the machine is doing.
 * - Each row starts after a CHECKPOINT (where the role may) and an untimed warm-up; subject and
 *   reference then alternate in rounds (A B, B A, ...) so drift falls on both. On two cores, run to
 *   run, throughput ratios moved by about 0.05 and p50 ratios by about 0.3; p99 ratios, from 1,000
 *   to 10,000 samples, move far more and are indicative only. Raise BENCH_SCALE to steady them.
 *
 * The second table (`kms calls`) is plain counts, not ratios: KeyProvider calls per 10,000 events
 * sealed, then read by a fresh process, then read again by it. The footnotes say what drives them.
 *
 * The realtime tables compare the compiled server's `/v1/realtime` gateway, started in a process of
 * its own on a fresh schema of the bench PostgreSQL (so its RSS is its own, and the clients, all in
 * this process, do not take its core on two), with a bare `ws` broadcast server in a process of its
 * own (bench/src/scenarios/realtime/broadcast-server.ts: no authentication, no persistence; it acks
 * at once and forwards each send to the other members), driven by the same clients and steps:
 * - `realtime fan-out`: 1,000 clients (x BENCH_SCALE), each its own user and device, in
 *   conversations of 10, each following its conversation. Untimed first: the first message of
 *   every conversation, until all are delivered (shown as a time: what a freshly started server
 *   learns per conversation). Then a rising send rate over all clients (50 to 800 sends/s, 3 s
 *   each, open loop), one row per step: `delivered/s` (deliveries to the 9 other members; the
 *   sender's own copy is not counted), send-to-ack and send-to-deliver p50 / p99 taken on the
 *   clients' clock from just before the send is written, and `missing` (sends failed or
 *   unanswered plus deliveries that never came). A step that loses anything or whose p99 passes a
 *   second ends that server's ladder (`not run` above it). The summary's headline, `delivered
 *   msgs/s at p99 send-to-deliver < 50 ms`, is the highest step meeting that with nothing missing;
 *   `≥` when the top step met it, as the reference does. The summary also times connecting the
 *   clients (upgrade, hello, sync).
 * - `realtime direct`: the same with 200 clients (x BENCH_SCALE) in 100 direct (1:1)
 *   conversations, created with `createDirectConversation`, so each send is one delivery; the
 *   ladder rises from 100 to 2,000 sends/s to find the limit. The reference is the same bare ws
 *   server with rooms of 2.
 * - The work of each step, on the Ledgerline side of both: SQL statements and commits per
 *   delivered message (the server's `ledgerline_sql_statements_total` and
 *   `ledgerline_sql_commits_total`, scraped from its operator metrics listener before and after
 *   the step), server CPU ms per delivered message (utime + stime of its process, /proc/<pid>/stat)
 *   and database CPU ms per delivered message (utime + stime summed over every process named
 *   `postgres`: it includes whatever else the cluster does meanwhile, and misses a backend that
 *   exits during the step). Each reading waits (up to 5 s) for the server to go quiet, so the
 *   work a step leaves behind (projections catching up) counts in it; an idle server's few
 *   statements a second count too. The summary shows them at the step its headline comes from.
 * - `realtime idle connections`: 10,000 clients (x BENCH_SCALE, capped by `ulimit -n`), each its
 *   own user and device, hello, sync to nothing, then silent.
 * - Memory per connection, in both: the server process's RSS (and its JS heap plus `external`)
 *   after connecting the clients minus before, over their count, each read after full garbage
 *   collections by a probe preloaded into the server (scenarios/realtime/memory-probe.ts). A
 *   warm-up batch connects first, unmeasured. RSS of a large process absorbs growth into pages it
 *   had already committed, so for Ledgerline the heap figure is the steadier one.
 * - What the Ledgerline server runs with: the bench plays the host app's identity provider (its
 *   JWKS on 127.0.0.1, tokens minted here), the scheduled audit checkpoint is off, idle logoff is
 *   an hour; rate limits, heartbeats, send buffers and presence are the defaults.
 *
 * The calls tables:
 * - `call setup` (first table, and its tallies): set-up time from start to media flowing, p50 and
 *   p99, sequential, subject and reference alternating. 1:1: two werift peers (ICE, DTLS, SRTP for
 *   real on loopback; host candidates in the SDP; the call's STUN/TURN servers not used) place and
 *   answer a call through the compiled server's `/v1/realtime` as the calls e2e page does
 *   (callStart; the callee's `call` push; callAccept; the caller's `call` push; offer and answer
 *   through callSignal), until the callee's first RTP packet; the reference is the same two peers
 *   exchanging offer and answer directly, so the ratio is what the server's signalling adds to the
 *   bare handshake. Group join: a host publishes in a group call through the server's mediasoup;
 *   each joiner's callJoin, connect-transport, consume and resume (through callSfu) until its
 *   audio and video arrive; the reference is the same join on a mediasoup SfuPort in the bench
 *   process. The tallies are the server's SQL statements, commits and CPU ms per set-up (from its
 *   metrics and /proc, read when it is quiet; an idle server's statements meanwhile included).
 * - `sfu fan-out`: per engine, one publisher (audio every 20 ms, three VP8 simulcast layers every
 *   40 ms) and 1, 2, 4, ... listen-only subscribers (audio and the lowest layer), all werift peers
 *   in the bench process. Each step is a window between two quiet points (publisher paused,
 *   nothing in flight), so packets sent and received are exact: `loss %`, the engine process's
 *   CPU (its threads' schedstat) per subscriber per second and per packet delivered, and this
 *   process's CPU. A ladder ends at loss ≥ 1 %, when the bench process or the forwarder passes
 *   90 % of a core (the figure is then the client's limit, and the summary says which), or at the
 *   top step (`≥`). The reference is a plain UDP forward in Node in a process of its own (the same
 *   packets at the same rates, unencrypted; audio and layer 0 forwarded, the others dropped): the
 *   least a forwarder does, so `ratio CPU per subscriber` is what SRTP, RTCP and the engine's
 *   bookkeeping cost on top, for mediasoup and Janus side by side.
 *
 * Configuration: BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test.
 * Each run works in a fresh schema and drops it at the end. BENCH_SCALE (or --scale) multiplies
 * every operation count except the exact KMS counts; 1 takes about two and a half minutes on two
 * cores, plus two to two and a half for the realtime scenarios (most of it the Ledgerline server
 * accepting 10,000 idle clients). `--json <file>` also writes the results as JSON, `--only <names>`
 * runs some scenarios (e.g. `--only 'sealed append,sealed read,kms calls'`), `--pglite` runs on
 * in-memory PGlite.
 *
 * When PostgreSQL is unreachable the bench exits with status 2 instead of falling back to PGlite:
 * PGlite has one connection (concurrency 16 would be serialised) and runs in WASM inside the
 * benchmark's own process, so its figures answer a different question, and a silent fallback would
 * let a CI job or a comparison between commits record them as PostgreSQL figures. `--pglite` asks
 * for it explicitly; the header then says so.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DatabaseUnreachableError,
  openPglite,
  openPostgres,
  type BenchDatabase,
} from './bench-database';
import {
  comparisonJson,
  formatComparisons,
  formatRealtimeSteps,
  formatRealtimeSummary,
  formatSfuSteps,
  formatSfuSummary,
  formatTallies,
  realtimeJson,
  sfuJson,
  tallyJson,
  type Comparison,
  type ConnectionMemory,
  type RealtimeStep,
  type RealtimeTiming,
  type SfuFanOutStep,
  type Tally,
} from './report';
import { scenarios, type Scenario } from './scenarios';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** At least the highest concurrency any scenario uses, so no worker waits for a connection. */
const POOL_SIZE = 20;

interface BenchConfig {
  readonly databaseUrl: string;
  readonly pglite: boolean;
  readonly scale: number;
  readonly jsonFile?: string;
  readonly scenarios: readonly Scenario[];
}

function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const command = new Command('bench')
    .description('Ledgerline sealing benchmark (see bench/src/main.ts for how to read it)')
    .option('--json <file>', 'also write the results as JSON to <file>')
    .option(
      '--only <names>',
      `comma-separated scenarios: ${scenarios.map((s) => s.name).join(', ')}`,
    )
    .option('--pglite', 'run on in-memory PGlite instead of PostgreSQL')
    .addOption(
      new Option('--scale <factor>', 'multiply every operation count by <factor>')
        .env('BENCH_SCALE')
        .default(1)
        .argParser(parseScale),
    )
    .parse(argv);
  const options = command.opts<{ json?: string; only?: string; pglite?: boolean; scale: number }>();
  let selected = scenarios;
  if (options.only) {
    const names = options.only.split(',').map((n) => n.trim());
    const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
    if (unknown.length > 0) command.error(`error: unknown scenario: ${unknown.join(', ')}`);
    selected = scenarios.filter((s) => names.includes(s.name));
  }
  return {
    databaseUrl: env['BENCH_DATABASE_URL'] || env['DATABASE_URL'] || DEFAULT_DATABASE_URL,
    pglite: options.pglite ?? false,
    scale: options.scale,
    jsonFile: options.json,
    scenarios: selected,
  };
}

function parseScale(value: string): number {
  const scale = Number(value);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new InvalidArgumentError('BENCH_SCALE must be a positive number');
  }
  return scale;
}

class Interrupted extends Error {}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  const config = readConfig(process.argv, process.env);
  const interrupted = new AbortController();
  process.once('SIGINT', () => {
    progress('interrupted: stopping and dropping the bench schema (Ctrl-C again to quit now)');
    interrupted.abort(new Interrupted('interrupted'));
  });

  let db: BenchDatabase;
  try {
    db = config.pglite ? await openPglite() : await openPostgres(config.databaseUrl, POOL_SIZE);
  } catch (error) {
    if (!(error instanceof DatabaseUnreachableError)) throw error;
    const reason = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    progress(
      `bench: ${error.message}${reason}\n` +
        'Start PostgreSQL or point BENCH_DATABASE_URL (or DATABASE_URL) at one; ' +
        'or pass --pglite to measure embedded PGlite instead (different figures, see main.ts).',
    );
    return 2;
  }

  progress(`bench: ${db.description}, BENCH_SCALE=${config.scale}`);
  const startedAt = new Date();
  const t0 = performance.now();
  const comparisons: Comparison[] = [];
  const tallies: Tally[] = [];
  const realtimeSteps: RealtimeStep[] = [];
  const connectionMemory: ConnectionMemory[] = [];
  const realtimeTimings: RealtimeTiming[] = [];
  const sfuSteps: SfuFanOutStep[] = [];
  try {
    for (const scenario of config.scenarios) {
      const result = await scenario.run({
        db,
        scale: config.scale,
        signal: interrupted.signal,
        progress,
      });
      comparisons.push(...result.comparisons);
      tallies.push(...result.tallies);
      realtimeSteps.push(...(result.realtimeSteps ?? []));
      connectionMemory.push(...(result.connectionMemory ?? []));
      realtimeTimings.push(...(result.realtimeTimings ?? []));
      sfuSteps.push(...(result.sfuSteps ?? []));
    }
  } finally {
    await db.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpus = availableParallelism();

  process.stdout.write(
    `${db.description}; Node.js ${process.version}, ${cpus} CPUs; ` +
      `BENCH_SCALE=${config.scale}; ${seconds.toFixed(0)} s\n\n` +
      (comparisons.length > 0 ? `${formatComparisons(comparisons)}\n\n` : '') +
      (tallies.length > 0 ? `${formatTallies(tallies)}\n\n` : '') +
      (realtimeSteps.length > 0 ? `${formatRealtimeSteps(realtimeSteps)}\n\n` : '') +
      (realtimeSteps.length + connectionMemory.length > 0
        ? `${formatRealtimeSummary(realtimeSteps, connectionMemory, realtimeTimings)}\n\n`
        : '') +
      (sfuSteps.length > 0
        ? `${formatSfuSteps(sfuSteps)}\n\n${formatSfuSummary(sfuSteps)}\n\n`
        : '') +
      config.scenarios.map((s) => `${s.name}: ${s.summary}.\n`).join('') +
      'ratio events/s = subject / reference (below 1: slower); ' +
      'ratio p50, p99 = subject / reference (above 1: slower); latencies are per batch or page.\n' +
      (realtimeSteps.length + connectionMemory.length > 0
        ? 'realtime: delivered/s counts deliveries to the members other than the sender; ' +
          "ack and deliver latencies are from the send, on the clients' clock; " +
          'missing = sends failed or unanswered + deliveries that never came (lost); ' +
          "stmts/msg, commits/msg, server CPU ms/msg, DB CPU ms/msg: the Ledgerline side's work " +
          'during the step over its deliveries (DB CPU: every postgres process, so anything else ' +
          'the cluster does meanwhile too); ' +
          'ratios as above, memory ratio above 1: more per connection.\n'
        : '') +
      (sfuSteps.length > 0
        ? 'sfu fan-out: loss % = packets the subscribers did not receive, in % of what the ' +
          'publisher sent of the streams they consume, counted between two quiet points; ' +
          "CPU = the forwarding process's time on a CPU over the window, its threads' " +
          'schedstat (ms per second per subscriber; µs per packet delivered); bench CPU % = this process (the WebRTC ' +
          'peers), of one core; ratio CPU above 1: the engine spends more than the reference.\n'
        : ''),
  );

  if (config.jsonFile) {
    mkdirSync(dirname(config.jsonFile), { recursive: true });
    const report = {
      startedAt: startedAt.toISOString(),
      seconds,
      database: { kind: db.kind, description: db.description },
      node: process.version,
      cpus,
      scale: config.scale,
      results: comparisons.map(comparisonJson),
      tallies: tallies.map(tallyJson),
      realtime: realtimeJson(realtimeSteps, connectionMemory, realtimeTimings),
      sfu: sfuJson(sfuSteps),
    };
    writeFileSync(config.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    progress(`bench: results written to ${config.jsonFile}`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof Interrupted) {
      progress('bench: interrupted, nothing left behind');
      process.exitCode = 130;
      return;
    }
    progress(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 1;
  },
);
