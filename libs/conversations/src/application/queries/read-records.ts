import {
  accessActorOf,
  type AccessAction,
  type AccessRecord,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import type { MessageRecord } from './message-history-reads.port';
import { failedReadRecord, readOutcomeRecords } from './read-outcomes';

/** A read of one conversation that passed its checks. */
export interface AuthorizedRead {
  readonly conversationId: string;
  readonly streamId: string;
  /** Every member of the conversation now, sorted. */
  readonly memberIds: readonly string[];
}

/** What a read disclosed, for its access record: the messages shown and their authors. */
export type Disclosed = Pick<MessageRecord, 'messageId' | 'authorId'>;

/**
 * The access records of ConversationQueries' reads: who read whose PHI, what a refusal or an
 * integrity failure stopped. Every method resolves once the record is kept (fail closed: the
 * caller awaits it before answering).
 */
export class ReadRecords {
  constructor(private readonly accessLog: AccessRecorder) {}

  /**
   * The access record of a read of PHI: the message ids it returned, and as subjects the members
   * and the authors of those messages (the reader aside).
   */
  of(
    principal: Principal,
    action: AccessAction,
    reading: AuthorizedRead,
    disclosed: readonly Disclosed[],
  ): AccessRecord {
    const subjects = new Set([...reading.memberIds, ...disclosed.map((r) => r.authorId)]);
    subjects.delete(principal.id);
    return {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action,
      outcome: 'allowed',
      conversationId: reading.conversationId,
      targetIds: disclosed.map((r) => r.messageId),
      subjectUserIds: [...subjects].sort(),
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
  }

  /** Records a read of PHI (see `of`). */
  read(
    principal: Principal,
    action: AccessAction,
    reading: AuthorizedRead,
    disclosed: readonly Disclosed[],
  ): Promise<void> {
    return this.accessLog.record(this.of(principal, action, reading, disclosed));
  }

  /** Records `record` as failed when `error` is an integrity failure; nothing otherwise. */
  async failed(record: AccessRecord, error: unknown): Promise<void> {
    const failed = failedReadRecord(record, error);
    if (failed) await this.accessLog.record(failed);
  }

  /**
   * Opens what a read shows, then records what it really disclosed (read-outcomes.ts): the
   * messages shown as allowed, those that failed their integrity check as failed, and a read an
   * integrity check stopped as failed. Fail closed: the answer waits for its records.
   */
  async disclose<T>(
    record: AccessRecord,
    open: () => Promise<T>,
    broken: (opened: T) => ReadonlySet<string>,
  ): Promise<T> {
    let opened: T;
    try {
      opened = await open();
    } catch (error) {
      await this.failed(record, error);
      throw error;
    }
    await Promise.all(
      readOutcomeRecords(record, broken(opened)).map((r) => this.accessLog.record(r)),
    );
    return opened;
  }

  /** A conversation list read (or, with `failure`, one an integrity check stopped). */
  async listRead(
    principal: Principal,
    conversationIds: string[],
    subjectUserIds: string[],
    failure?: unknown,
  ): Promise<void> {
    const record: AccessRecord = {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'phi.conversation_list.read',
      outcome: 'allowed',
      targetIds: conversationIds,
      subjectUserIds,
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
    if (failure === undefined) return this.accessLog.record(record);
    await this.failed(record, failure);
  }

  /** A live feed started: of one conversation (`reading`), or of all the principal's. */
  liveFeed(principal: Principal, reading?: AuthorizedRead): Promise<void> {
    const live = {
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'phi.live.subscribed' as const,
      outcome: 'allowed' as const,
      ...(principal.origin ? { origin: principal.origin } : {}),
    };
    if (reading === undefined) {
      return this.accessLog.record({ ...live, targetIds: [], subjectUserIds: [] });
    }
    const { conversationId } = reading;
    const subjects = reading.memberIds.filter((id) => id !== principal.id);
    return this.accessLog.record({
      ...live,
      conversationId,
      targetIds: [conversationId],
      subjectUserIds: subjects,
    });
  }

  /**
   * A read refused because the principal is not a member: recorded like a denied permission; the
   * record does not say whether the conversation exists.
   */
  notAMember(principal: Principal, conversationId: string, operation: string): Promise<void> {
    return this.accessLog.record({
      tenantId: principal.tenantId,
      actor: accessActorOf(principal),
      action: 'access.denied',
      outcome: 'denied',
      reason: 'not_a_member',
      permission: 'conversation.read',
      operation,
      conversationId,
      targetIds: [conversationId],
      subjectUserIds: [],
      ...(principal.origin ? { origin: principal.origin } : {}),
    });
  }
}
