import type { Principal } from '@ledgerline/identity';
import {
  MediasoupSfu,
  locateMediasoupWorker,
  type SfuJoinReply,
  type SfuParticipantRef,
} from '@ledgerline/sfu';
import { MediasoupTestPeer, type ReceivedMedia } from '@ledgerline/sfu/testing';
import { availableDatabases } from '@ledgerline/testing';
import { callStreamId } from '../domain/call-stream';
import { openCallEvent } from './call-events.codec';
import { roomIdOf, type CallService } from './call-service';
import { newTenant, openCallsFixture, type CallsFixture } from './testing/calls-fixture';

// A group call through the real mediasoup engine (no stand-in): members' programmatic WebRTC
// peers (werift: real ICE, DTLS, SRTP, RTP on loopback) speak to the SFU only through the calls
// service's `sfuRequest`, as a client's `callSfu` does. Media flows from a publisher to the
// others; the engine's worker is killed mid-call (the call goes on, its stream records the
// failure, the participants join again and media flows again); each leave becomes a media audit
// event and an access record with real byte counts and the remote address; the last leave ends
// the call and closes the room.

jest.setTimeout(300_000);

const worker = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined);
const why = !worker
  ? 'no mediasoup worker binary (run `npm run media:worker` or set MEDIASOUP_WORKER_BIN)'
  : !worker.dtlsProbed
    ? 'the mediasoup worker did not pass the DTLS probe of `npm run media:worker`'
    : undefined;
const describeWithEngine = (name: string, fn: () => void) =>
  why ? describe.skip(`${name} [skipped: ${why}]`, fn) : describe(name, fn);

/** Enough packets to tell a flowing stream from a stopped one. */
const FLOWING = 25;

describeWithEngine('a group call through mediasoup', () => {
  describe.each(availableDatabases())('on %s', (kind) => {
    let f: CallsFixture;
    let sfu: MediasoupSfu;
    let node: CallService;
    const peers: MediasoupTestPeer[] = [];

    beforeAll(async () => {
      f = await openCallsFixture(kind);
      sfu = await MediasoupSfu.start({
        workerBin: worker!.path,
        workers: 2,
        listenIp: '127.0.0.1',
        minPort: 40_000,
        maxPort: 49_999,
        connectTimeoutMs: 30_000,
      });
      node = await f.newNode(sfu);
    });
    afterAll(async () => {
      for (const peer of peers) await peer.close().catch(() => undefined);
      await f?.close();
      await sfu?.close();
    });

    /** A member's client: its join reply, its requests through the service. */
    function client(
      principal: Principal,
      callId: string,
      deviceId: string,
      reply: SfuJoinReply | undefined,
    ): MediasoupTestPeer {
      expect(reply).toMatchObject({ engine: 'mediasoup' });
      const ref: SfuParticipantRef = {
        roomId: roomIdOf(principal.tenantId, callId),
        participantId: `${principal.id}/${deviceId}`,
      };
      const peer = MediasoupTestPeer.admitted(
        {
          request: async (_ref, request) => ({
            data: await node.sfuRequest(principal, {
              callId,
              deviceId,
              method: request.method,
              data: request.data,
            }),
          }),
        },
        ref,
        reply!,
      );
      peers.push(peer);
      return peer;
    }

    async function flowing(peer: MediasoupTestPeer, media: ReceivedMedia): Promise<void> {
      const from = media.packets;
      await peer.until(() => media.packets >= from + FLOWING, `${media.kind} flowing`);
    }

    async function callEvents(tenantId: string, callId: string): Promise<string[]> {
      const events = await f.ledgerFixture.ledger.readStream(callStreamId(tenantId, callId));
      return events.map((e) => openCallEvent(e)!.type);
    }

    async function until(check: () => Promise<boolean>, what: string): Promise<void> {
      const deadline = Date.now() + 120_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`${what}: never happened`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }

    it('media flows through the engine; a killed worker is recorded and the call goes on; leaves are audited with real counters; the last ends it', async () => {
      const { alice, bob, carol, tenantId } = newTenant();
      const conversationId = await f.conversation(alice, ['bob', 'carol']);
      const started = await node.startCall(alice, {
        conversationId,
        kind: 'group',
        media: 'video',
        deviceId: 'a',
      });
      const callId = started.call.callId;
      const roomId = roomIdOf(tenantId, callId);

      let publisher = client(alice, callId, 'a', started.sfu);
      let produced = await publisher.publish();
      const joinAndWatch = async (who: Principal, deviceId: string) => {
        const joined = await node.joinCall(who, { callId, deviceId });
        const peer = client(who, callId, deviceId, joined.sfu);
        await peer.connectRecv();
        const video = await peer.consume(produced.videoProducerId);
        const audio = await peer.consume(produced.audioProducerId);
        await flowing(peer, video);
        await flowing(peer, audio);
        return peer;
      };
      await joinAndWatch(bob, 'b');
      await joinAndWatch(carol, 'c');

      // The worker carrying the room dies: the call's stream records it, the call goes on, and
      // the participants join again on the replacement and media flows again.
      const pid = sfu.roomWorkerPid(roomId);
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      await until(
        async () => (await callEvents(tenantId, callId)).includes('MediaEngineFailed'),
        'MediaEngineFailed in the call stream',
      );
      expect((await node.callOf(alice, callId)).status).not.toBe('ended');
      await until(async () => sfu.roomWorkerPid(roomId) !== pid, 'the room moved');
      const rejoined = await node.joinCall(alice, { callId, deviceId: 'a' });
      publisher = client(alice, callId, 'a', rejoined.sfu);
      produced = await publisher.publish();
      const bobAgain = await joinAndWatch(bob, 'b');

      // Each leave is a media audit event with the engine's counters and the remote address.
      await node.leaveCall(bob, { callId, deviceId: 'b' });
      await bobAgain.close();
      await node.leaveCall(carol, { callId, deviceId: 'c' });
      await node.leaveCall(alice, { callId, deviceId: 'a' });
      // A media session is recorded once the engine hands back its counters, which may be after
      // the call's end.
      await until(async () => {
        const types = await callEvents(tenantId, callId);
        return (
          types.includes('CallEnded') && types.filter((t) => t === 'MediaSessionEnded').length >= 3
        );
      }, 'the call ended and every media session recorded');
      expect(await callEvents(tenantId, callId)).toContain('MediaEngineFailed');

      const media = f.accessLog.records.filter(
        (r) => r.tenantId === tenantId && r.action === 'call.media',
      );
      expect(new Set(media.map((r) => r.subjectUserIds[0]))).toEqual(
        new Set(['alice', 'bob', 'carol']),
      );
      const bobs = media.filter((r) => r.subjectUserIds[0] === 'bob');
      expect(bobs.some((r) => /^127\.0\.0\.1:\d+$/.test(r.origin?.clientAddress ?? ''))).toBe(true);
      const events = await f.ledgerFixture.ledger.readStream(callStreamId(tenantId, callId));
      const sessions = events
        .map((e) => openCallEvent(e)!)
        .filter((e) => e.type === 'MediaSessionEnded')
        .map((e) => e.data as { userId: string; bytesSent: number; bytesReceived: number });
      // Bob only watched: he received media; Alice published: she sent it.
      expect(sessions.some((s) => s.userId === 'bob' && s.bytesReceived > 0)).toBe(true);
      expect(sessions.some((s) => s.userId === 'alice' && s.bytesSent > 0)).toBe(true);
      await until(async () => {
        try {
          await sfu.stats(roomId);
          return false;
        } catch {
          return true;
        }
      }, 'the room closed');
    });
  });
});
