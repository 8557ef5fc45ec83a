import { availableDatabases } from '@ledgerline/testing';
import {
  newTenant,
  openConversationsFixture,
  type ConversationsFixture,
} from '../application/testing/conversations-fixture';
import { SqlConversationMemberships } from './sql-conversation-memberships.adapter';

for (const kind of availableDatabases()) {
  describe(`SqlConversationMemberships on ${kind}`, () => {
    let f: ConversationsFixture;

    beforeAll(async () => {
      f = await openConversationsFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });

    it('answers who shares a conversation with whom, within one tenant, as members come and go', async () => {
      const { commands } = await f.newCommands();
      const projections = await f.newProjections();
      projections.start();
      const memberships = new SqlConversationMemberships(f.db.client);
      const t = newTenant();
      const other = newTenant();
      const group = t.conversationId();
      await commands.execute(t.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: group,
          title: 'Ward 3',
          members: [
            { id: 'bob', kind: 'user', role: 'member' },
            { id: 'carol', kind: 'user', role: 'member' },
          ],
        },
      });
      // Same member ids in another tenant, in a conversation of their own.
      const elsewhere = await commands.execute(other.alice, {
        type: 'CreateGroupConversation',
        data: {
          conversationId: other.conversationId(),
          title: 'Elsewhere',
          members: [{ id: 'dave', kind: 'user', role: 'member' }],
        },
      });
      await projections.waitFor(elsewhere.position!);

      expect(await memberships.isMember(t.tenantId, group, 'bob')).toBe(true);
      expect(await memberships.isMember(t.tenantId, group, 'dave')).toBe(false);
      expect(await memberships.isMember(other.tenantId, group, 'bob')).toBe(false);
      expect(await memberships.sharesConversation(t.tenantId, 'alice', 'carol')).toBe(true);
      expect(await memberships.sharesConversation(t.tenantId, 'alice', 'dave')).toBe(false);
      expect(await memberships.sharesConversation(other.tenantId, 'alice', 'dave')).toBe(true);
      expect(await memberships.sharesConversation(t.tenantId, 'mallory', 'mallory')).toBe(true);
      expect(
        await memberships.sharingWith(t.tenantId, 'bob', [
          'alice',
          'bob',
          'dave',
          'carol',
          'alice',
        ]),
      ).toEqual(new Set(['alice', 'bob', 'carol']));
      expect(await memberships.sharingWith(t.tenantId, 'dave', ['alice', 'bob'])).toEqual(
        new Set(),
      );
      expect(await memberships.contactsOf(t.tenantId, 'bob')).toEqual(
        new Set(['alice', 'bob', 'carol']),
      );
      expect(await memberships.contactsOf(t.tenantId, 'dave')).toEqual(new Set());
      expect(await memberships.contactsOf(other.tenantId, 'dave')).toEqual(
        new Set(['alice', 'dave']),
      );
      expect(await memberships.membersAmong(t.tenantId, group, ['carol', 'dave'])).toEqual(
        new Set(['carol']),
      );
      expect(await memberships.membersAmong(t.tenantId, group, [])).toEqual(new Set());
      expect(await memberships.membersOf(t.tenantId, group)).toEqual(
        new Set(
          await memberships.membersAmong(t.tenantId, group, ['alice', 'bob', 'carol', 'dave']),
        ),
      );

      // Carol leaves: she no longer shares anything with alice or bob.
      const left = await commands.execute(t.carol, {
        type: 'LeaveConversation',
        data: { conversationId: group },
      });
      await projections.waitFor(left.position!);
      expect(await memberships.isMember(t.tenantId, group, 'carol')).toBe(false);
      expect(await memberships.sharesConversation(t.tenantId, 'alice', 'carol')).toBe(false);
      expect(await memberships.sharingWith(t.tenantId, 'carol', ['alice', 'bob'])).toEqual(
        new Set(),
      );
      expect(await memberships.contactsOf(t.tenantId, 'carol')).toEqual(new Set());
    });
  });
}
