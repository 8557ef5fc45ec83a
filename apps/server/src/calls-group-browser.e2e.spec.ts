import { GraphQLClient } from 'graphql-request';
import { callStreamId, openCallEvent } from '@ledgerline/calls';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { locateMediasoupWorker } from '@ledgerline/sfu';
import { janusUnavailable, startJanus } from '@ledgerline/sfu/testing';
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
  type CallBrowser,
  type ReceivedMedia,
} from './testing/call-browsers';
import {
  callAccessRecords,
  createConversation,
  endedCallEntry,
  subjectsOf,
} from './testing/call-records';
import {
  bundleGroupCallScript,
  GROUP_CALL_PAGE,
  GROUP_CALL_SCRIPT_PATH,
} from './testing/group-call-page';

// Three real browsers (Debian's Chromium, each its own process, fake camera and microphone) in a
// group call through the server's SFU engine, once with mediasoup and once with Janus: each
// publishes audio and video (mediasoup-client for mediasoup, plain RTCPeerConnections speaking
// VideoRoom's SDP for Janus) and consumes the other two, and each one's getStats show video
// frames decoded and audio received from both others. Then the browsers are killed one by one:
// each leaves after the grace period while the others' media keeps flowing, and when the last
// leaves the call ends. The call's history entry, its access records (joined, left, media) and
// its media sessions in the call's stream name every participant.
//
// The page picks its engine client by the `sfu.engine` of the join reply (testing/browser/
// sfu-clients.ts). Media is on loopback for mediasoup; Janus's ICE library never offers loopback
// candidates, so its media runs on the host's own address (still this machine).

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const worker = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined);
const workerMissing = !worker
  ? 'no mediasoup worker binary; npm run media:worker'
  : worker.dtlsProbed
    ? undefined
    : `the mediasoup worker at ${worker.path} has no .dtls-ok marker; npm run media:worker`;

/** An SFU engine the server is started with, and what it needs running beside it. */
interface Engine {
  readonly name: 'mediasoup' | 'janus';
  readonly missing: string | undefined;
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

const ENGINES: readonly Engine[] = [
  {
    name: 'mediasoup',
    missing: workerMissing,
    start: () =>
      Promise.resolve({
        env: {
          LEDGERLINE_SFU_ENGINE: 'mediasoup',
          MEDIASOUP_WORKER_BIN: worker!.path,
          LEDGERLINE_SFU_WORKERS: '1',
        },
        stop: () => Promise.resolve(),
      }),
  },
  {
    name: 'janus',
    missing: janusUnavailable(),
    start: async () => {
      const janus = await startJanus();
      return {
        env: {
          LEDGERLINE_SFU_ENGINE: 'janus',
          LEDGERLINE_SFU_JANUS_URL: janus.url,
          LEDGERLINE_SFU_JANUS_ADMIN_URL: janus.adminUrl,
          LEDGERLINE_SFU_JANUS_ADMIN_SECRET: janus.adminSecret,
        },
        stop: () => janus.stop(),
      };
    },
  },
];

type Received = Record<string, ReceivedMedia>;

interface Member {
  readonly userId: string;
  readonly deviceId: string;
  browser?: CallBrowser;
}

/** A page's received media by the sending user (the engine's participant id is [user, device]). */
function byUser(received: Received): Record<string, ReceivedMedia> {
  return Object.fromEntries(
    Object.entries(received).map(([participantId, media]) => [
      (JSON.parse(participantId) as [string, string])[0],
      media,
    ]),
  );
}

interface PageState {
  ll: {
    ringing: string | null;
    call: { status: string; devices: { userId: string }[] } | null;
    engine: string | null;
    showing: string[];
    errors: string[];
  };
}

describe.each(ENGINES.map((engine) => [engine.name, engine] as const))('%s', (_, engine) => {
  const TENANT = `clinic-group-calls-${engine.name}`;
  describeUnlessMissing(
    `a group call between three browsers through ${engine.name}`,
    [chromiumMissing(), engine.missing],
    () => {
      describe.each(availableDatabases())('on %s', (kind) => {
        let rig: CallBrowserRig | undefined;
        let stopEngine: (() => Promise<void>) | undefined;

        beforeAll(async () => {
          const script = await bundleGroupCallScript();
          const running = await engine.start();
          stopEngine = running.stop;
          rig = await CallBrowserRig.start(kind, {
            tenantId: TENANT,
            files: {
              '/': { type: 'text/html; charset=utf-8', body: GROUP_CALL_PAGE },
              [GROUP_CALL_SCRIPT_PATH]: { type: 'text/javascript; charset=utf-8', body: script },
            },
            env: running.env,
          });
        }, STARTUP_TIMEOUT_MS);

        afterAll(async () => {
          await rig?.close();
          await stopEngine?.();
        }, STARTUP_TIMEOUT_MS);

        const state = (member: Member) =>
          member.browser!.page.evaluate(() => (globalThis as unknown as PageState).ll);

        /** Waits until the member's page sees the user out of the call. */
        const seesLeft = (member: Member, userId: string) =>
          member.browser!.page.waitForFunction(
            (gone) =>
              !(globalThis as unknown as PageState).ll.call?.devices.some((d) => d.userId === gone),
            userId,
          );

        it('each browser receives audio and video from both others; they leave one by one until the call ends; history and audit name all three', async () => {
          const server = rig!.server;
          const [alice, bob, carol]: Member[] = ['alice', 'bob', 'carol'].map((name) => ({
            userId: `${name}-${kind}`,
            deviceId: `${name}-laptop`,
          })) as [Member, Member, Member];
          const everyone = [alice, bob, carol];
          const gql = new GraphQLClient(`${server.url}/graphql`, {
            headers: clientHeaders(await rig!.token(alice.userId)),
          });
          const conversationId = await createConversation(gql, 'Case conference', [
            bob.userId,
            carol.userId,
          ]);
          for (const member of everyone) {
            member.browser = await rig!.open(member.userId, member.deviceId);
          }

          // Alice starts it (bob and carol ring); bob accepts, carol joins.
          const callId = await alice.browser!.page.evaluate(
            (id) =>
              (globalThis as unknown as { startCall(c: string): Promise<string> }).startCall(id),
            conversationId,
          );
          await bob.browser!.page.waitForFunction(
            (id) => (globalThis as unknown as PageState).ll.ringing === id,
            callId,
          );
          await bob.browser!.page.evaluate(() =>
            (globalThis as unknown as { accept(): Promise<string> }).accept(),
          );
          await carol.browser!.page.evaluate(
            (id) => (globalThis as unknown as { join(c: string): Promise<string> }).join(id),
            callId,
          );

          const others = (member: Member) =>
            everyone.filter((m) => m !== member && m.browser).map((m) => m.userId);
          const receiving = (member: Member) =>
            statsWhen<Received>(member.browser!.page, (s) =>
              others(member).every((userId) => mediaFlowing(byUser(s)[userId])),
            );

          const first = await Promise.all(everyone.map(receiving));
          for (const [i, member] of everyone.entries()) {
            const received = byUser(first[i]!);
            expect(Object.keys(received).sort()).toEqual(others(member).sort());
            for (const userId of others(member)) {
              expect(received[userId]!.videoFramesDecoded).toBeGreaterThan(10);
              expect(received[userId]!.audioPacketsReceived).toBeGreaterThan(10);
              expect(received[userId]!.audioSamplesReceived).toBeGreaterThan(0);
            }
            const page = await state(member);
            expect(page.engine).toBe(engine.name);
            expect(page.errors).toEqual([]);
          }

          // Carol's browser dies: after the grace period she is out, the SFU closes her media at
          // alice and bob (consumer-closed), and their media to each other keeps flowing.
          carol.browser!.kill();
          carol.browser = undefined;
          await Promise.all([seesLeft(alice, carol.userId), seesLeft(bob, carol.userId)]);
          for (const member of [alice, bob]) {
            await member.browser!.page.waitForFunction(
              (gone) =>
                !(globalThis as unknown as PageState).ll.showing.some((p) => p.includes(gone)),
              JSON.stringify(carol.userId),
            );
            const other = others(member)[0]!;
            const earlier = byUser(await statsWhen<Received>(member.browser!.page, () => true));
            const later = byUser(
              await statsWhen<Received>(member.browser!.page, (s) => {
                const now = byUser(s)[other];
                return (
                  now !== undefined &&
                  now.videoFramesDecoded > earlier[other]!.videoFramesDecoded + 10 &&
                  now.audioPacketsReceived > earlier[other]!.audioPacketsReceived + 10
                );
              }),
            );
            expect(Object.keys(later)).toEqual([other]);
            expect(later[other]!.videoFramesDecoded).toBeGreaterThan(
              earlier[other]!.videoFramesDecoded,
            );
            expect(later[other]!.audioSamplesReceived).toBeGreaterThan(
              earlier[other]!.audioSamplesReceived,
            );
          }

          // Bob's dies too: alice is alone in a call that goes on.
          bob.browser!.kill();
          bob.browser = undefined;
          await seesLeft(alice, bob.userId);
          expect((await state(alice)).call?.status).toBe('active');
          expect((await state(alice)).errors).toEqual([]);

          // The last one leaves: the call ends.
          alice.browser!.kill();
          alice.browser = undefined;
          const entry = await endedCallEntry(gql, conversationId);
          expect(entry).toMatchObject({
            callId,
            startedBy: alice.userId,
            participants: [alice.userId, bob.userId, carol.userId],
            outcome: 'completed',
            status: 'ended',
          });
          expect(entry?.durationMs).toBeGreaterThan(0);

          const users = everyone.map((m) => m.userId).sort();
          const records = await callAccessRecords(
            server,
            TENANT,
            callId,
            (r) =>
              subjectsOf(r, 'call.left').length >= 3 && subjectsOf(r, 'call.media').length >= 3,
          );
          expect(subjectsOf(records, 'call.joined')).toEqual(users);
          expect(subjectsOf(records, 'call.left')).toEqual(users);
          expect(subjectsOf(records, 'call.media')).toEqual(users);
          expect(records.filter((r) => r.action === 'call.left').map((r) => r.reason)).toEqual([
            'connection_lost',
            'connection_lost',
            'connection_lost',
          ]);

          // Each device's media session through the SFU, with what it sent and received.
          const ledger = server.app.get<Ledger>(LEDGER);
          const sessions = (await ledger.readStream(callStreamId(TENANT, callId)))
            .map((e) => openCallEvent(e))
            .flatMap((e) => (e?.type === 'MediaSessionEnded' ? [e.data] : []));
          expect(sessions.map((s) => s.userId).sort()).toEqual(users);
          for (const session of sessions) {
            expect(session.engine).toBe(engine.name);
            expect(session.bytesSent).toBeGreaterThan(0);
            expect(session.bytesReceived).toBeGreaterThan(0);
          }
        });
      });
    },
  );
});
