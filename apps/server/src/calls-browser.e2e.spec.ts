import { GraphQLClient } from 'graphql-request';
import {
  availableDatabases,
  clientHeaders,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
} from '@ledgerline/testing';
import {
  CallBrowserRig,
  chromiumMissing,
  describeUnlessMissing,
  mediaFlowing,
  statsWhen,
  type ReceivedMedia,
} from './testing/call-browsers';
import { CALL_PAGE } from './testing/call-page';
import {
  callAccessRecords,
  createConversation,
  endedCallEntry,
  subjectsOf,
} from './testing/call-records';

// Two real browsers (Debian's Chromium, driven by playwright-core, with fake camera and microphone)
// hold a 1:1 call through the server's /v1/realtime signalling, peer-to-peer on loopback. The test
// reads each browser's getStats: video frames decoded and audio received, both ways. Then one
// browser is killed: its connection dies, it leaves after the grace period, the call ends, the
// call's history entry names both, and so do the audit records.
//
// Group calls, through the SFU, have their three-browser test beside this one:
// calls-group-browser.e2e.spec.ts (browser set-up, page server and stats polling are shared, in
// testing/call-browsers.ts and testing/call-records.ts).

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const TENANT = 'clinic-calls';

const CONVERSATION_CALLS = /* GraphQL */ `
  query {
    conversations {
      items {
        id
        calls {
          callId
          participants
          outcome
        }
      }
    }
  }
`;

describeUnlessMissing('a 1:1 call between two browsers', [chromiumMissing()], () => {
  describe.each(availableDatabases())('on %s', (kind) => {
    let rig: CallBrowserRig | undefined;

    beforeAll(async () => {
      rig = await CallBrowserRig.start(kind, {
        tenantId: TENANT,
        files: { '/': { type: 'text/html; charset=utf-8', body: CALL_PAGE } },
      });
    }, STARTUP_TIMEOUT_MS);

    afterAll(() => rig?.close(), STARTUP_TIMEOUT_MS);

    it('media flows both ways; killing one browser makes it leave and ends the call; history and audit name both', async () => {
      const server = rig!.server;
      const alice = `alice-${kind}`;
      const bob = `bob-${kind}`;
      const gql = new GraphQLClient(`${server.url}/graphql`, {
        headers: clientHeaders(await rig!.token(alice)),
      });
      const conversationId = await createConversation(gql, 'Video visit', [bob]);

      const a = await rig!.open(alice, 'alice-laptop');
      const b = await rig!.open(bob, 'bob-laptop');
      const callId = await a.page.evaluate(
        (id) => (globalThis as unknown as { startCall(c: string): Promise<string> }).startCall(id),
        conversationId,
      );
      await b.page.waitForFunction(
        (id) => (globalThis as unknown as { ll: { ringing: string | null } }).ll.ringing === id,
        callId,
      );
      await b.page.evaluate(() =>
        (globalThis as unknown as { accept(): Promise<string> }).accept(),
      );

      const [atAlice, atBob] = await Promise.all(
        [a, b].map((x) => statsWhen<ReceivedMedia>(x.page, mediaFlowing)),
      );
      expect(atAlice!.videoFramesDecoded).toBeGreaterThan(10);
      expect(atBob!.videoFramesDecoded).toBeGreaterThan(10);
      expect(atAlice!.audioSamplesReceived).toBeGreaterThan(0);
      expect(atBob!.audioSamplesReceived).toBeGreaterThan(0);

      // Bob's browser dies: no leave, no close frame. The server sees the socket go, waits the
      // grace period, and takes bob out; a direct call then ends.
      b.kill();
      await a.page.waitForFunction(
        () =>
          (globalThis as unknown as { ll: { call: { status: string } | null } }).ll.call?.status ===
          'ended',
      );
      expect(
        await a.page.evaluate(
          () => (globalThis as unknown as { ll: { errors: string[] } }).ll.errors,
        ),
      ).toEqual([]);

      const entry = await endedCallEntry(gql, conversationId);
      expect(entry).toMatchObject({
        callId,
        startedBy: alice,
        participants: [alice, bob],
        outcome: 'completed',
      });
      expect(entry?.durationMs).toBeGreaterThan(0);

      // The conversation itself shows the call as an entry of its history.
      const listed = await gql.request<{
        conversations: {
          items: {
            id: string;
            calls: { callId: string; participants: string[]; outcome: string | null }[];
          }[];
        };
      }>(CONVERSATION_CALLS);
      expect(listed.conversations.items.find((c) => c.id === conversationId)?.calls).toEqual([
        { callId, participants: [alice, bob], outcome: 'completed' },
      ]);

      const records = await callAccessRecords(
        server,
        TENANT,
        callId,
        (r) => subjectsOf(r, 'call.left').length >= 2,
      );
      expect(subjectsOf(records, 'call.joined')).toEqual([alice, bob]);
      expect(subjectsOf(records, 'call.left')).toEqual([alice, bob]);
      const left = records.filter((r) => r.action === 'call.left');
      expect(left.find((r) => r.subjectUserIds[0] === bob)).toMatchObject({
        reason: 'connection_lost',
      });
    });
  });
});
