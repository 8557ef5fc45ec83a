import { CommandRunner } from '@ledgerline/pipeline';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  LedgerAccessRecorder,
  auditConfig,
  auditStreamId,
  parseAccessRecorded,
} from '@ledgerline/audit';
import {
  CONVERSATION_API_MAX_PAGE_SIZE,
  ConversationCommands,
  ConversationProjections,
  ConversationQueries,
  ConversationStates,
  SqlConversationSnapshots,
  sqlConversationReadModels,
} from '@ledgerline/conversations';
import {
  AccessPolicy,
  loadRolePolicy,
  type AccessRecorder,
  type Principal,
  identityConfig,
} from '@ledgerline/identity';
import { loadConfig, systemClock, uuidV7Generator, type GlobalPosition } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import type { Comparison } from '../report';
import type { Workload } from '../runner';
import { openSealingStack, type SealingStack } from '../sealing-stack';
import { measureRow } from './measure-row';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'audited history read';
const TENANT = 'bench-audit';
/** A care-team group: the members are the subjects every record of a page names. */
const MEMBERS = 10;
/** A few hundred messages, so the newest page is a real page of a longer history. */
const MESSAGES = 300;
/** The newest page a client opens a conversation with (the API's default page size). */
const PAGE = 50;
/** About what a chat message weighs, as in graphql sendMessage. */
const TEXT_BYTES = 200;
const CONCURRENCIES = [1, 16] as const;
/** Timed pages per side at scale 1; MAX_SECONDS caps each side (about 10 s in all). */
const OPS = 1_000;
const MAX_SECONDS = 2;
/** The projections catch up with 300 sends in well under a second; a shared cluster may lag. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/**
 * The reference's recorder: auditing switched off. It records nothing and resolves at once, so the
 * reference is the same read without its access event. Bench only: production has no adapter like
 * it on purpose (every PHI read is recorded, and a read whose record fails is not answered).
 */
const AUDITING_OFF_BENCH_REFERENCE_ONLY: AccessRecorder = {
  record: () => Promise.resolve(),
};

export const auditedHistoryRead: Scenario = {
  name: NAME,
  summary:
    `ConversationQueries.messages, the newest page of ${PAGE} of a group of ${MEMBERS} members ` +
    `with ${MESSAGES} messages (projections caught up), with its access event recorded by ` +
    'LedgerAccessRecorder (batched: records made while an append is in flight go into the next ' +
    'one; fail closed: the page waits until its record is durable) vs the same read with ' +
    'auditing off; events/s = messages read per second (pages/s x ' +
    `${PAGE}); a fresh schema of the bench PostgreSQL (on PGlite, the bench database)`,
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      // PGlite has no second schema; this scenario's tables and streams are its own anyway.
      return { comparisons: await measureHistoryReads(context), tallies: [] };
    }
    // A schema of its own: the projections start from an empty log instead of scanning past the
    // earlier scenarios' events, and the figures do not depend on which scenarios ran before.
    const db = await context.db.openSibling();
    try {
      return { comparisons: await measureHistoryReads({ ...context, db }), tallies: [] };
    } finally {
      await db.close();
    }
  },
};

/** The conversations stack as the server composes it, around one warm Ledger. */
interface ConversationsStack {
  readonly ledger: Ledger;
  /** The server's recorder: access events batched into the tenant's audit stream, fail closed. */
  readonly recorder: LedgerAccessRecorder;
  readonly commands: ConversationCommands;
  readonly projections: ConversationProjections;
  /** Reads whose access events (and refusals) go to `recorder`. */
  queries(recorder: AccessRecorder): ConversationQueries;
}

async function measureHistoryReads(context: ScenarioContext): Promise<Comparison[]> {
  const { db, progress } = context;
  const stack = await openSealingStack(db);
  let conversations: ConversationsStack | undefined;
  try {
    conversations = await openConversations(context, stack);
    const { recorder, projections } = conversations;
    const members = Array.from({ length: MEMBERS }, (_, i) => member(i));
    progress(`${NAME}: a group of ${MEMBERS} members with ${MESSAGES} messages`);
    const { conversationId, last } = await seedConversation(conversations.commands, members);
    // Caught up, then stopped: running, they would be woken by every access event appended (and
    // find nothing of theirs in it), a load on the subject's phases alone that is not the read's.
    projections.start();
    await projections.waitFor(last, { timeoutMs: CATCH_UP_TIMEOUT_MS });
    await projections.stop();
    const audited = conversations.queries(recorder);
    const unaudited = conversations.queries(AUDITING_OFF_BENCH_REFERENCE_ONLY);
    await assertFullPage(unaudited, members[0]!, conversationId);

    const reads = { audited: 0 };
    const subject = historyReads('messages, audited', members, async (reader) => {
      await audited.messages(reader, conversationId, { limit: PAGE });
      reads.audited += 1;
    });
    const reference = historyReads('messages, auditing off', members, (reader) =>
      unaudited.messages(reader, conversationId, { limit: PAGE }),
    );
    const comparisons: Comparison[] = [];
    for (const concurrency of CONCURRENCIES) {
      comparisons.push(
        await measureRow(context, {
          scenario: NAME,
          variant: `${MEMBERS} members, ${MESSAGES} messages`,
          batch: PAGE,
          concurrency,
          subject,
          reference,
          ops: OPS,
          maxSeconds: MAX_SECONDS,
        }),
      );
    }
    await recorder.drain();
    await assertOneRecordPerRead(stack, conversations.ledger, reads.audited);
    return comparisons;
  } finally {
    await conversations?.recorder.drain();
    await conversations?.projections.stop();
    await stack.close();
  }
}

/** Server defaults (roles file, audit batch size, node id), read from an empty environment. */
async function openConversations(
  context: ScenarioContext,
  stack: SealingStack,
): Promise<ConversationsStack> {
  const { db, progress } = context;
  const config = loadConfig({});
  // One set of data keys for the ledger and the snapshots, as CryptoModule provides it.
  const dataKeys = stack.newDataKeys();
  const ledger = stack.ledgerOver(dataKeys);
  const recorder = new LedgerAccessRecorder(ledger, {
    node: config.node.id,
    clock: systemClock,
    ids: uuidV7Generator,
    batchMax: config.slice(auditConfig).batchMax,
  });
  const policy = loadRolePolicy(config.slice(identityConfig).rolesFile);
  const snapshots = SqlConversationSnapshots.create(db.client, dataKeys, {
    clock: systemClock,
  });
  const states = new ConversationStates(ledger, snapshots);
  const commands = new ConversationCommands(
    new CommandRunner(ledger, new AccessPolicy(policy, recorder), { ids: uuidV7Generator }),
    states,
    snapshots,
    { clock: systemClock, ids: uuidV7Generator },
  );
  const projections = ConversationProjections.create(db.client, ledger, {
    log: {
      warn: () => undefined,
      error: (fields) => progress(`${NAME}: projections stopped (${String(fields['code'])})`),
    },
  });
  return {
    ledger,
    recorder,
    commands,
    projections,
    queries: (recorder) =>
      new ConversationQueries(
        new AccessPolicy(policy, recorder),
        recorder,
        sqlConversationReadModels(db.client),
        ledger,
        {
          maxPageSize: CONVERSATION_API_MAX_PAGE_SIZE,
        },
      ),
  };
}

/** The group, and its messages from every member in turn; `last` is the last one's position. */
async function seedConversation(
  commands: ConversationCommands,
  members: readonly Principal[],
): Promise<{ conversationId: string; last: GlobalPosition }> {
  const conversationId = randomUUID();
  const [owner, ...others] = members;
  await commands.execute(owner!, {
    type: 'CreateGroupConversation',
    data: {
      conversationId,
      title: 'bench care team',
      members: others.map((m) => ({ id: m.id, kind: 'user' as const, role: 'member' as const })),
    },
  });
  let last: GlobalPosition | undefined;
  for (let i = 0; i < MESSAGES; i++) {
    const sent = await commands.execute(members[i % members.length]!, {
      type: 'SendMessage',
      data: {
        conversationId,
        clientMessageId: randomUUID(),
        // Base64 of random bytes: TEXT_BYTES printable characters, no mention syntax.
        text: randomBytes((TEXT_BYTES * 3) / 4).toString('base64'),
      },
    });
    last = sent.position;
  }
  if (!last) throw new Error(`${NAME}: the last send reported no position`);
  return { conversationId, last };
}

/** Worker w reads as member w (mod MEMBERS). */
function historyReads(
  label: string,
  members: readonly Principal[],
  read: (reader: Principal) => Promise<unknown>,
): Workload {
  return {
    label,
    eventsPerOp: PAGE,
    prepare(worker) {
      const reader = members[worker % members.length]!;
      return async () => {
        await read(reader);
      };
    },
  };
}

/** A member as the edge authenticates one: with the origin every access record carries. */
function member(i: number): Principal {
  const id = `member-${String(i).padStart(2, '0')}`;
  return {
    kind: 'user',
    id,
    tenantId: TENANT,
    roles: ['user'],
    origin: {
      transport: 'http',
      clientAddress: `10.0.0.${i + 10}`,
      userAgent: 'ledgerline-bench/1.0',
      deviceId: `device-${id}`,
    },
  };
}

/** What is measured is a full page of text opened for real. */
async function assertFullPage(
  queries: ConversationQueries,
  reader: Principal,
  conversationId: string,
): Promise<void> {
  const page = await queries.messages(reader, conversationId, { limit: PAGE });
  const opened = page.items.filter((m) => m.content.status === 'available').length;
  if (page.items.length !== PAGE || opened !== PAGE || !page.more) {
    throw new Error(
      `${NAME}: the newest page held ${page.items.length} messages, ${opened} opened; ` +
        `expected ${PAGE} of a longer history`,
    );
  }
}

/** Every audited read left exactly one record, naming the page's messages and members. */
async function assertOneRecordPerRead(
  stack: SealingStack,
  ledger: Ledger,
  reads: number,
): Promise<void> {
  const streamId = auditStreamId(TENANT);
  const revision = await stack.store.streamRevision(streamId);
  const records = revision === undefined ? 0 : Number(revision) + 1;
  if (records !== reads) {
    throw new Error(`${NAME}: ${reads} audited reads left ${records} access records`);
  }
  const [last] = await ledger.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  const record =
    last?.body.status === 'available' ? parseAccessRecorded(last.body.payload) : undefined;
  if (
    record?.action !== 'phi.history.read' ||
    record.targetIds.length !== PAGE ||
    record.subjectUserIds.length !== MEMBERS - 1
  ) {
    throw new Error(`${NAME}: the last access record is not a full history-page record`);
  }
}
