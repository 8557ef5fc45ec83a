import { CheckpointJob, MerkleLogStore, TreeHeadSigner } from '@ledgerline/audit';
import type { EventStore } from '@ledgerline/event-store';
import { systemClock, type GlobalPosition } from '@ledgerline/kernel';
import type { Comparison } from '../report';
import type { Workload } from '../runner';
import { openSealingStack } from '../sealing-stack';
import { payloadLabel, sealStreams } from './append-workloads';
import { maxOpsPerWorkerOfRow, measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'checkpoint throughput';
/**
 * Events one run folds (CheckpointJobOptions.maxLeavesPerRun), so every operation is the same
 * work: about a minute of a busy deployment's events at the default checkpoint interval.
 */
const LEAVES_PER_RUN = 2_000;
/** The job's default `$all` page: two pages per run. */
const PAGE = 1_000;
const PAYLOAD_BYTES = 512;
const EVENTS_PER_STREAM = 1_000;
/** The job is single-writer (an advisory lock serialises runs), so one worker. */
const CONCURRENCY = 1;
/**
 * Timed runs per side at scale 1; MAX_SECONDS caps each side. Every run consumes LEAVES_PER_RUN
 * sealed events, so the seed grows with the scale (about 56,000 events at scale 1).
 */
const OPS = 25;
const MAX_SECONDS = 6;
/** How long the seed may take to show in `$all` (a long transaction elsewhere holds it back). */
const VISIBLE_TIMEOUT_MS = 60_000;

export const checkpointThroughput: Scenario = {
  name: NAME,
  summary:
    `CheckpointJob.run folding ${LEAVES_PER_RUN} sealed events a run (read in pages of ${PAGE} ` +
    'from $all, seal check, RFC 9162 leaf hash, Merkle frontier, leaves stored, tree head ' +
    'signed with RSA-3072) vs SqlEventStore.readAll of the same pages alone; events/s = events ' +
    'folded (or read) per second; a fresh schema of the bench PostgreSQL, sealed events only',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      // The job refuses the unsealed events event-store append leaves in the bench database, by
      // design, and PGlite has no second schema to seal a log of its own in.
      context.progress(
        `${NAME}: skipped, it needs PostgreSQL (a schema of its own holding sealed events only)`,
      );
      return { comparisons: [], tallies: [] };
    }
    const db = await context.db.openSibling();
    try {
      return { comparisons: [await measureCheckpoints({ ...context, db })], tallies: [] };
    } finally {
      await db.close();
    }
  },
};

async function measureCheckpoints(context: ScenarioContext): Promise<Comparison> {
  const { db, progress, signal } = context;
  const row = { concurrency: CONCURRENCY, ops: OPS, maxSeconds: MAX_SECONDS };
  // Either side runs at most this many times; each run takes the next LEAVES_PER_RUN events.
  const events = maxOpsPerWorkerOfRow(row, context.scale) * LEAVES_PER_RUN;
  const stack = await openSealingStack(db);
  try {
    progress(`${NAME}: sealing ${events} events to fold`);
    const streams = Math.ceil(events / EVENTS_PER_STREAM);
    await sealStreams(stack.newLedger(), {
      streams,
      eventsPerStream: EVENTS_PER_STREAM,
      batch: 100,
      payloadBytes: PAYLOAD_BYTES,
      concurrency: 4,
      signal,
    });
    await awaitVisibleInAll(stack.store, streams * EVENTS_PER_STREAM, signal);

    // A signer over key material made in memory: the same key type and signature as the
    // deployment's generated key, without the files.
    const { certificatePem, privateKeyPem } = TreeHeadSigner.createKeyMaterial();
    const signer = TreeHeadSigner.fromPem(certificatePem, privateKeyPem);
    const job = new CheckpointJob(
      stack.store,
      MerkleLogStore.create(db.client),
      signer,
      systemClock,
      { maxLeavesPerRun: LEAVES_PER_RUN, pageSize: PAGE },
    );
    return await measureRow(context, {
      scenario: NAME,
      variant: `${payloadLabel(PAYLOAD_BYTES)}, pages of ${PAGE}`,
      batch: LEAVES_PER_RUN,
      ...row,
      subject: checkpointRuns(job),
      reference: pageReads(stack.store),
    });
  } finally {
    await stack.close();
  }
}

/** Each operation is one checkpoint run, which must fold exactly LEAVES_PER_RUN events. */
function checkpointRuns(job: CheckpointJob): Workload {
  return {
    label: 'CheckpointJob.run',
    eventsPerOp: LEAVES_PER_RUN,
    prepare() {
      return async () => {
        const outcome = await job.run();
        const added = outcome.status === 'signed' ? outcome.added : 0;
        if (added !== LEAVES_PER_RUN) {
          throw new Error(`${NAME}: a run folded ${added} events, not ${LEAVES_PER_RUN}`);
        }
      };
    },
  };
}

/**
 * The job's own page loop without the job: from where the previous operation stopped, pages of
 * PAGE until LEAVES_PER_RUN events are read. Subject and reference each start at the beginning of
 * `$all` and run the same number of operations, so operation i of both reads the same pages.
 */
function pageReads(store: Pick<EventStore, 'readAll'>): Workload {
  let after: GlobalPosition | undefined;
  return {
    label: 'readAll pages',
    eventsPerOp: LEAVES_PER_RUN,
    prepare() {
      return async () => {
        let read = 0;
        let more = true;
        while (more && read < LEAVES_PER_RUN) {
          const page = await store.readAll({
            after,
            maxCount: Math.min(PAGE, LEAVES_PER_RUN - read),
          });
          read += page.events.length;
          after = page.next;
          more = page.more;
        }
        if (read !== LEAVES_PER_RUN) {
          throw new Error(`${NAME}: an operation read ${read} events, not ${LEAVES_PER_RUN}`);
        }
      };
    },
  };
}

/**
 * On PostgreSQL `$all` shows an event once no older transaction in the cluster is still open, so
 * the seed may trail the appends by a moment (longer when another session on the cluster idles in
 * a transaction). Waits until all `expected` events are readable, so no run comes up short.
 */
async function awaitVisibleInAll(
  store: Pick<EventStore, 'readAll'>,
  expected: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + VISIBLE_TIMEOUT_MS;
  let after: GlobalPosition | undefined;
  let seen = 0;
  for (;;) {
    signal.throwIfAborted();
    const page = await store.readAll({ after, maxCount: 10_000 });
    seen += page.events.length;
    after = page.next;
    if (seen >= expected) return;
    if (page.more) continue;
    if (Date.now() > deadline) {
      throw new Error(
        `${NAME}: ${seen} of ${expected} sealed events visible in $all after ` +
          `${VISIBLE_TIMEOUT_MS / 1000} s; is a transaction left open on the cluster?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
