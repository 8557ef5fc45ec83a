import type { GraphQLClient } from 'graphql-request';
import { auditStreamId, parseAccessRecorded } from '@ledgerline/audit';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import type { RunningServer } from '../bootstrap';

/**
 * What the browser call tests read back after a call: the conversation they call in, the call's
 * history entry (GraphQL `callHistory`), and the call's access records in the tenant's audit
 * stream. Reads repeat until the projections have caught up, for at most a minute, then answer
 * what they last read (for the test's assertion to show).
 */
const CREATE = /* GraphQL */ `
  mutation Create($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;

const HISTORY = /* GraphQL */ `
  query History($conversationId: ID!) {
    callHistory(conversationId: $conversationId) {
      callId
      startedBy
      participants
      durationMs
      outcome
      status
    }
  }
`;

export interface CallHistoryEntry {
  readonly callId: string;
  readonly startedBy: string;
  readonly participants: string[];
  readonly durationMs: number | null;
  readonly outcome: string | null;
  readonly status: string;
}

export type CallAccessRecord = NonNullable<ReturnType<typeof parseAccessRecorded>>;

const READ_BACK_MS = 60_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A group conversation of the client's user with these members; its id. */
export async function createConversation(
  gql: GraphQLClient,
  title: string,
  members: readonly string[],
): Promise<string> {
  const created = await gql.request<{ createGroupConversation: { conversationId: string } }>(
    CREATE,
    { input: { title, members: members.map((id) => ({ id })) } },
  );
  return created.createGroupConversation.conversationId;
}

/** The conversation's latest call once its history shows it ended. */
export async function endedCallEntry(
  gql: GraphQLClient,
  conversationId: string,
): Promise<CallHistoryEntry | undefined> {
  const deadline = Date.now() + READ_BACK_MS;
  for (;;) {
    const page = await gql.request<{ callHistory: CallHistoryEntry[] }>(HISTORY, {
      conversationId,
    });
    const latest = page.callHistory[0];
    if (latest?.status === 'ended' || Date.now() > deadline) return latest;
    await pause(50);
  }
}

/** The call's access records in the tenant's audit stream, read until `enough` says so. */
export async function callAccessRecords(
  server: RunningServer,
  tenantId: string,
  callId: string,
  enough: (records: CallAccessRecord[]) => boolean,
): Promise<CallAccessRecord[]> {
  const ledger = server.app.get<Ledger>(LEDGER);
  const deadline = Date.now() + READ_BACK_MS;
  for (;;) {
    const audit = await ledger.readStream(auditStreamId(tenantId));
    const records = audit
      .map((e) => (e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined))
      .filter((r): r is CallAccessRecord => r !== undefined && r.targetIds.includes(callId));
    if (enough(records) || Date.now() > deadline) return records;
    await pause(50);
  }
}

/** The users of the records of one action (the subject of each), sorted. */
export function subjectsOf(records: readonly CallAccessRecord[], action: string): string[] {
  return records
    .filter((r) => r.action === action)
    .map((r) => r.subjectUserIds[0]!)
    .sort();
}
