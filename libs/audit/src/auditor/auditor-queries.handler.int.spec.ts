import { randomUUID } from 'node:crypto';
import { AccessDeniedError, type AccessRecord, type Principal } from '@ledgerline/identity';
import { CollectedAccessRecords, availableDatabases } from '@ledgerline/testing';
import { AuditUnavailableError } from '../access/ledger-access-recorder';
import { auditStreamId } from '../audit-stream';
import {
  openAuditLogFixture,
  phiRead,
  principal,
  type AuditLogFixture,
} from '../projection/testing/audit-log-fixture';
import type { AuditEntry, AuditPage, AuditorQueries } from './auditor-queries.handler';
import {
  AuditPageSizeError,
  InvalidAuditCursorError,
  InvalidAuditFilterError,
  InvalidTimeRangeError,
} from './auditor.errors';

const HOUR = 3_600_000;
const T0 = new Date('2026-05-04T09:00:00.000Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const ALL_DAY = { from: at(-1), to: at(24) };

/** Every page of a read, following `endCursor`. */
async function allPages(read: (after?: string) => Promise<AuditPage>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await read(after);
    out.push(...page.items);
    if (!page.hasMore) return out;
    after = page.endCursor;
  }
}

const summary = (e: AuditEntry) => `${e.actor.id} ${e.action} ${e.targetIds.join(',')}`;

for (const kind of availableDatabases()) {
  describe(`auditor queries on ${kind}`, () => {
    let a: AuditLogFixture;
    let queries: AuditorQueries;
    let t: string;
    let auditor: Principal;

    /** Records `record` with the clock at `hours` after T0. */
    async function recordAt(hours: number, record: AccessRecord): Promise<void> {
      a.f.clock.set(at(hours));
      await a.recorder.record(record);
    }

    beforeAll(async () => {
      a = await openAuditLogFixture(kind);
      a.projection.start();
      queries = a.queries({ maxPageSize: 5, defaultPageSize: 3 });
      t = `t${randomUUID().slice(0, 8)}`;
      auditor = principal(t, 'auditor-1', ['auditor']);
      // Alice and Bob talk in c-1; Carol (a nurse) reads c-2, which is about Alice; a backend
      // reads c-1 too; Bob is refused a conversation; and another tenant's records interleave.
      await recordAt(1, phiRead(t, 'alice', ['alice', 'bob'], 'c-1', ['m-1', 'm-2']));
      await recordAt(2, phiRead(t, 'bob', ['alice', 'bob'], 'c-1', ['m-1', 'm-2']));
      await recordAt(3, {
        ...phiRead(t, 'carol', ['alice'], 'c-2', ['m-7']),
        action: 'phi.thread.read',
        actor: { id: 'carol', kind: 'user', roles: ['user', 'nurse'] },
      });
      await recordAt(4, {
        ...phiRead(t, 'key-1', ['alice', 'bob'], 'c-1', ['m-3']),
        actor: { id: 'key-1', kind: 'service', roles: ['service'], credentialId: 'key-1' },
      });
      await recordAt(5, {
        ...phiRead(t, 'bob', [], 'c-3'),
        action: 'access.denied',
        outcome: 'denied',
        reason: 'missing_permission',
        permission: 'conversation.read',
        operation: 'editHistory',
      });
      await recordAt(6, {
        ...phiRead(t, 'dave', ['alice'], 'c-2', ['m-7']),
        outcome: 'denied',
        reason: 'not_a_member',
      });
      await recordAt(7, {
        ...phiRead(t, 'auditor-0', ['alice'], 'c-2', ['m-7', 'm-8']),
        actor: { id: 'auditor-0', kind: 'user', roles: ['auditor'] },
        action: 'audit.conversation_history.read',
      });
      await recordAt(8, {
        ...phiRead(t, 'auditor-0', ['alice'], 'c-2'),
        actor: { id: 'auditor-0', kind: 'user', roles: ['auditor'] },
        action: 'audit.searched',
        resourceType: 'audit_log',
      });
      await recordAt(2.5, phiRead('other-tenant', 'eve', ['alice'], 'c-1', ['m-1']));
      a.f.clock.set(at(10));
    });
    afterAll(async () => {
      await a?.close();
    });

    it('searches by time range: from inclusive, to exclusive, oldest first', async () => {
      const page = await queries.search(auditor, { from: at(2), to: at(4), first: 5 });
      expect(page.items.map(summary)).toEqual([
        'bob phi.history.read m-1,m-2',
        'carol phi.thread.read m-7',
      ]);
      expect(page.hasMore).toBe(false);
    });

    it('searches by actor, subject, action and conversation, alone and together', async () => {
      const ids = async (filter: Parameters<AuditorQueries['search']>[1]) =>
        (await allPages((after) => queries.search(auditor, { ...filter, after }))).map(
          (e) => `${e.actor.id}@${e.at.getTime() - T0.getTime()}`,
        );
      const h = (n: number) => n * HOUR;
      expect(await ids({ ...ALL_DAY, actorId: 'bob' })).toEqual([`bob@${h(2)}`, `bob@${h(5)}`]);
      expect(await ids({ ...ALL_DAY, subjectUserId: 'bob' })).toEqual([
        `alice@${h(1)}`,
        `bob@${h(2)}`,
        `key-1@${h(4)}`,
      ]);
      expect(await ids({ ...ALL_DAY, action: 'phi.thread.read' })).toEqual([`carol@${h(3)}`]);
      expect(await ids({ ...ALL_DAY, conversationId: 'c-2' })).toEqual([
        `carol@${h(3)}`,
        `dave@${h(6)}`,
        `auditor-0@${h(7)}`,
        `auditor-0@${h(8)}`,
      ]);
      expect(
        await ids({
          ...ALL_DAY,
          subjectUserId: 'alice',
          conversationId: 'c-1',
          action: 'phi.history.read',
          actorId: 'key-1',
        }),
      ).toEqual([`key-1@${h(4)}`]);
      expect(await ids({ from: at(0), to: at(3), subjectUserId: 'alice' })).toEqual([
        `alice@${h(1)}`,
        `bob@${h(2)}`,
      ]);
      expect(await ids({ ...ALL_DAY, actorId: 'nobody' })).toEqual([]);
    });

    it('answers every field of an entry', async () => {
      const [entry] = (await queries.search(auditor, { ...ALL_DAY, actorId: 'key-1' })).items;
      const event = (await a.f.ledger.readStream(auditStreamId(t)))[3]!;
      expect(entry).toEqual({
        eventId: event.eventId,
        position: event.position,
        cursor: entry!.cursor,
        streamRevision: 3n,
        at: at(4),
        recordedAt: at(4),
        actor: { id: 'key-1', kind: 'service', roles: ['service'], credentialId: 'key-1' },
        action: 'phi.history.read',
        outcome: 'allowed',
        reason: undefined,
        permission: undefined,
        operation: undefined,
        conversationId: 'c-1',
        resourceType: undefined,
        targetIds: ['m-3'],
        subjectUserIds: ['alice', 'bob'],
        origin: {
          node: 'node-test',
          transport: 'graphql-ws',
          clientAddress: '192.0.2.7',
          userAgent: 'app/2.1',
        },
      } satisfies AuditEntry);
    });

    it('names the refused operation of a denial (several share one permission)', async () => {
      const page = await queries.search(auditor, { ...ALL_DAY, action: 'access.denied' });
      expect(page.items.map((e) => [e.permission, e.operation])).toEqual([
        ['conversation.read', 'editHistory'],
      ]);
    });

    it('pages by position with an opaque cursor: every entry once, in log order', async () => {
      const seen = await allPages((after) =>
        queries.search(auditor, { from: at(0), to: at(9), first: 2, after }),
      );
      expect(seen.map((e) => e.at.getTime())).toEqual(
        [1, 2, 3, 4, 5, 6, 7, 8].map((n) => at(n).getTime()),
      );
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(8);
      // Opaque: not the position token itself.
      expect(seen[0]!.cursor).not.toContain('.');
      // Only this tenant's records, whatever the filter.
      expect(seen.every((e) => e.actor.id !== 'eve')).toBe(true);
    });

    it('keeps to the auditor’s tenant', async () => {
      const other = principal('other-tenant', 'auditor-x', ['auditor']);
      const page = await queries.search(other, { ...ALL_DAY, first: 5 });
      expect(page.items.map((e) => e.actor.id)).toContain('eve');
      expect(page.items.map((e) => e.actor.id)).not.toContain('alice');
      const disclosures = await queries.disclosures(auditor, 'alice', ALL_DAY);
      expect(disclosures.items.map((e) => e.actor.id)).not.toContain('eve');
    });

    it('the accounting of disclosures lists others’ allowed PHI accesses, not the subject’s own', async () => {
      const alice = await allPages((after) =>
        queries.disclosures(auditor, 'alice', { ...ALL_DAY, after }),
      );
      expect(alice.map(summary)).toEqual([
        'bob phi.history.read m-1,m-2',
        'carol phi.thread.read m-7',
        'key-1 phi.history.read m-3',
        'auditor-0 audit.conversation_history.read m-7,m-8',
      ]);
      // Who, when, why and from where.
      const carol = alice[1]!;
      expect(carol.actor).toEqual({ id: 'carol', kind: 'user', roles: ['user', 'nurse'] });
      expect(carol.at).toEqual(at(3));
      expect(carol.origin).toEqual({
        node: 'node-test',
        transport: 'graphql-ws',
        clientAddress: '192.0.2.7',
        userAgent: 'app/2.1',
      });

      const bob = await allPages((after) =>
        queries.disclosures(auditor, 'bob', { ...ALL_DAY, after }),
      );
      expect(bob.map(summary)).toEqual([
        'alice phi.history.read m-1,m-2',
        'key-1 phi.history.read m-3',
      ]);
      const range = await queries.disclosures(auditor, 'alice', { from: at(3), to: at(4) });
      expect(range.items.map(summary)).toEqual(['carol phi.thread.read m-7']);
    });

    it('records each search and each accounting of disclosures, before answering', async () => {
      // Earlier tests' reads were recorded at hour 10.
      const start = at(10.5);
      a.f.clock.set(at(11));
      const searched = await queries.search(auditor, {
        ...ALL_DAY,
        subjectUserId: 'bob',
        conversationId: 'c-1',
      });
      a.f.clock.set(at(12));
      const disclosed = await queries.disclosures(auditor, 'alice', { ...ALL_DAY, first: 2 });
      a.f.clock.set(at(13));

      // Both are in the log (the next read waits for the projection to include them).
      const records = await queries.search(auditor, { from: start, to: at(13) });
      expect(records.items).toHaveLength(2);
      const [search, disclosures] = records.items;
      expect(search).toMatchObject({
        actor: { id: 'auditor-1', kind: 'user', roles: ['auditor'] },
        action: 'audit.searched',
        outcome: 'allowed',
        resourceType: 'audit_log',
        conversationId: 'c-1',
        targetIds: searched.items.map((e) => e.eventId),
        subjectUserIds: ['bob'],
        origin: {
          node: 'node-test',
          transport: 'http',
          clientAddress: '10.1.2.3',
          userAgent: 'audit-test/1.0',
          deviceId: 'dev-auditor-1',
        },
        at: at(11),
      });
      expect(disclosures).toMatchObject({
        action: 'audit.disclosures.read',
        targetIds: disclosed.items.map((e) => e.eventId),
        subjectUserIds: ['alice'],
        resourceType: 'audit_log',
        at: at(12),
      });
      // A read never lists its own record: it is appended after the rows were read.
      const again = await queries.search(auditor, { from: start, to: at(14) });
      expect(again.items.map((e) => e.action)).toEqual([
        'audit.searched',
        'audit.disclosures.read',
        'audit.searched',
      ]);
      // Recording an auditor's reads is not a disclosure of the subject's PHI.
      const alice = await allPages((after) =>
        queries.disclosures(auditor, 'alice', { ...ALL_DAY, after }),
      );
      expect(alice.map((e) => e.action)).not.toContain('audit.disclosures.read');
    });

    it('a paged read never lists its own records; the next read lists them all', async () => {
      const searches = { ...ALL_DAY, action: 'audit.searched' as const, first: 1 };
      const first = await allPages((after) => queries.search(auditor, { ...searches, after }));
      expect(first.length).toBeGreaterThan(3);
      // One record per page, each naming the row its page returned.
      const second = await allPages((after) => queries.search(auditor, { ...searches, after }));
      const ids = (entries: AuditEntry[]) => entries.map((e) => e.eventId);
      expect(ids(second.slice(0, first.length))).toEqual(ids(first));
      expect(second.slice(first.length).map((e) => e.targetIds)).toEqual(
        first.map((e) => [e.eventId]),
      );
    });

    it('refuses a caller without audit.read, and the refusal is itself in the log', async () => {
      const nurse = principal(t, 'nurse-9', ['user']);
      a.f.clock.set(at(15));
      await expect(queries.search(nurse, ALL_DAY)).rejects.toBeInstanceOf(AccessDeniedError);
      a.f.clock.set(at(16));
      await expect(queries.disclosures(nurse, 'alice', ALL_DAY)).rejects.toBeInstanceOf(
        AccessDeniedError,
      );
      const denials = await queries.search(auditor, {
        from: at(15),
        to: at(17),
        actorId: 'nurse-9',
      });
      expect(denials.items).toHaveLength(2);
      for (const denial of denials.items) {
        expect(denial).toMatchObject({
          action: 'access.denied',
          outcome: 'denied',
          reason: 'missing_permission',
          permission: 'audit.read',
          resourceType: 'audit_log',
          actor: { id: 'nurse-9', kind: 'user', roles: ['user'] },
          origin: { transport: 'http', clientAddress: '10.1.2.3' },
        });
      }
      // And the refused caller learned nothing: no audit.searched record of theirs.
      const searched = await queries.search(auditor, {
        ...ALL_DAY,
        to: at(17),
        actorId: 'nurse-9',
        action: 'audit.searched',
      });
      expect(searched.items).toEqual([]);
    });

    it('answers nothing when its own access event cannot be recorded (fail closed)', async () => {
      const failing = new CollectedAccessRecords();
      failing.failWith(new AuditUnavailableError());
      const closed = a.queries({ recorder: failing });
      await expect(closed.search(auditor, ALL_DAY)).rejects.toBeInstanceOf(AuditUnavailableError);
      await expect(closed.disclosures(auditor, 'alice', ALL_DAY)).rejects.toBeInstanceOf(
        AuditUnavailableError,
      );
    });

    it('refuses bad input with a typed error that never quotes it', async () => {
      const secret = 'Jane Roe, DOB 1970-01-01';
      const cases: [Promise<unknown>, new (...args: never[]) => Error, string][] = [
        [queries.search(auditor, { ...ALL_DAY, first: 6 }), AuditPageSizeError, 'first'],
        [queries.search(auditor, { ...ALL_DAY, first: 0 }), AuditPageSizeError, 'first'],
        [queries.search(auditor, { ...ALL_DAY, after: secret }), InvalidAuditCursorError, 'after'],
        [
          queries.search(auditor, { ...ALL_DAY, after: Buffer.from('1.2').toString('base64url') }),
          InvalidAuditCursorError,
          'after',
        ],
        [queries.search(auditor, { from: at(2), to: at(2) }), InvalidTimeRangeError, 'to'],
        [queries.search(auditor, { from: at(3), to: at(2) }), InvalidTimeRangeError, 'to'],
        [
          queries.search(auditor, { from: new Date(NaN), to: at(2) }),
          InvalidTimeRangeError,
          'from',
        ],
        [
          queries.search(auditor, { ...ALL_DAY, subjectUserId: secret }),
          InvalidAuditFilterError,
          'subjectUserId',
        ],
        [queries.search(auditor, { ...ALL_DAY, actorId: '' }), InvalidAuditFilterError, 'actorId'],
        [
          queries.search(auditor, { ...ALL_DAY, action: 'phi.everything' as 'phi.message.read' }),
          InvalidAuditFilterError,
          'action',
        ],
        [queries.disclosures(auditor, secret, ALL_DAY), InvalidAuditFilterError, 'subjectUserId'],
      ];
      for (const [attempt, type, field] of cases) {
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e as Error & { field?: string },
        );
        expect(error).toBeInstanceOf(type);
        expect(error!.field).toBe(field);
        expect(error!.message).not.toContain('Jane');
        expect(error!.message).not.toContain('1.2');
      }
    });
  });
}
