import { Arrivals } from '@ledgerline/testing';
import { sfuContract } from '../../contract/sfu.contract';
import { SfuRequestError, SfuUnavailableError, type SfuEvent } from '../../sfu.port';
import { janusUnavailable, startJanus, type JanusProcess } from '../../testing/janus-process';
import { JanusTestPeer } from '../../testing/janus-test-peer';
import { JanusSfu } from './janus-sfu.adapter';

// Debian's janus (scripts/ci/install-janus.sh), started on loopback with a generated
// configuration; without it the suite is registered as skipped, saying so.
const unavailable = janusUnavailable();
let janus: JanusProcess | undefined;

afterAll(async () => {
  await janus?.stop();
});

sfuContract({
  name: 'janus',
  unavailable,
  open: async ({ connectTimeoutMs }) => {
    janus = await startJanus({ restartOnExit: true });
    return JanusSfu.start({
      url: janus.url,
      adminUrl: janus.adminUrl,
      adminSecret: janus.adminSecret,
      connectTimeoutMs,
      statsIntervalMs: 500,
    });
  },
  join: (port, ref, options) => JanusTestPeer.join(port, ref, options),
  preferLayer: (consumerId, spatialLayer) => ({
    method: 'set-preferred-layers',
    data: { consumerId, spatialLayer },
  }),
  // Janus carries every room in one process: killing it drops the adapter's connection, the
  // supervisor (like systemd in production) starts it again, and the adapter re-creates the rooms.
  killRoomProcess: () => {
    process.kill(janus!.pid, 'SIGKILL');
  },
});

// What the contract cannot say engine-neutrally: Janus down, gone for good, a listen-only
// participant's SDP offer, and VideoRoom taking subscriptions only once a publisher is connected.
(unavailable ? describe.skip : describe)(
  `JanusSfu beyond the contract${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    jest.setTimeout(150_000);
    let lone: JanusProcess | undefined;
    afterEach(async () => {
      await lone?.stop();
      lone = undefined;
    });

    /** A Janus of the test's own with room `r`, its events, and its peers closed at the end. */
    const inLoneRoom = async (
      test: (room: {
        sfu: JanusSfu;
        events: Arrivals<SfuEvent>;
        join(participantId: string): Promise<JanusTestPeer>;
      }) => Promise<void>,
    ) => {
      lone = await startJanus();
      const sfu = await JanusSfu.start({ url: lone.url, connectTimeoutMs: 30_000 });
      const peers: JanusTestPeer[] = [];
      try {
        const events = new Arrivals<SfuEvent>();
        sfu.onEvent((event) => events.push(event));
        await sfu.createRoom('r', { maxParticipants: 4 });
        const join = async (participantId: string) => {
          const peer = await JanusTestPeer.join(sfu, { roomId: 'r', participantId });
          peers.push(peer);
          return peer;
        };
        await test({ sfu, events, join });
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
        await sfu.close();
      }
    };

    it('is unavailable (retryable) when Janus does not answer', async () => {
      lone = await startJanus();
      const url = lone.url;
      await lone.stop();
      lone = undefined;
      const start = JanusSfu.start({ url, connectTimeoutMs: 5_000 });
      await expect(start).rejects.toBeInstanceOf(SfuUnavailableError);
      await expect(start).rejects.toMatchObject({ retryable: true });
    });

    it('announces and lists what a participant publishes only once its connection is up (VideoRoom refuses subscriptions before)', async () => {
      await inLoneRoom(async ({ sfu, events, join }) => {
        const publisher = await join('pub');
        const early = await join('early');
        const announced = () =>
          events.items.filter((e) => e.kind === 'signal' && e.data['type'] === 'producer-added');
        let late: JanusTestPeer | undefined;
        const { audioProducerId, videoProducerId } = await publisher.publish(async () => {
          // Janus answered, but the publisher's connection is not up: nothing is announced or
          // listed yet, and a subscription is refused as the client's error (not Janus's 428).
          late = await join('late');
          expect(late.join.payload['producers']).toEqual([]);
          expect(announced()).toEqual([]);
          const listed = await sfu.request(early.ref, { method: 'list-producers', data: {} });
          expect(listed.data['producers']).toEqual([]);
          await expect(
            sfu.request(early.ref, {
              method: 'consume',
              data: { producerId: `${publisher.sendTransportId}:0` },
            }),
          ).rejects.toBeInstanceOf(SfuRequestError);
        });
        for (const kind of ['audio', 'video']) {
          await events.next(
            (e) =>
              e.kind === 'signal' &&
              e.ref.participantId === 'early' &&
              e.data['type'] === 'producer-added' &&
              e.data['kind'] === kind,
            `producer-added (${kind}) at early`,
          );
        }
        const atLate = announced().filter(
          (e) => e.kind === 'signal' && e.ref.participantId === 'late',
        );
        expect(atLate.map((e) => e.kind === 'signal' && e.data['producerId']).sort()).toEqual(
          [audioProducerId, videoProducerId].sort(),
        );
        const video = await early.consume(videoProducerId);
        const audio = await late!.consume(audioProducerId);
        await early.until(() => video.packets > 0, 'video flows to early');
        await late!.until(() => audio.packets > 0, 'audio flows to late');
      });
    });

    it('says a subscription whose own connection is lost (ICE keep-alive checks fail) is transport-closed, and takes it again', async () => {
      await inLoneRoom(async ({ events, join }) => {
        const publisher = await join('pub');
        const subscriber = await join('sub');
        const { audioProducerId } = await publisher.publish();
        const first = await subscriber.consume(audioProducerId);
        await subscriber.until(() => first.packets > 0, 'audio flows');
        await subscriber.loseSubscription(first.consumerId);
        const closed = await events.next(
          (e) => e.kind === 'signal' && e.data['type'] === 'consumer-closed',
          'consumer-closed',
        );
        expect(closed).toMatchObject({
          ref: { participantId: 'sub' },
          data: {
            consumerId: first.consumerId,
            producerId: audioProducerId,
            reason: 'transport-closed',
          },
        });
        const again = await subscriber.consume(audioProducerId);
        expect(again.consumerId).not.toBe(first.consumerId);
        await subscriber.until(() => again.packets > 0, 'audio flows again');
      });
    });

    it('reports a participant that vanishes without closing as gone (ICE keep-alive checks fail)', async () => {
      lone = await startJanus();
      const sfu = await JanusSfu.start({
        url: lone.url,
        adminUrl: lone.adminUrl,
        adminSecret: lone.adminSecret,
        connectTimeoutMs: 30_000,
      });
      try {
        const events = new Arrivals<SfuEvent>();
        sfu.onEvent((event) => events.push(event));
        await sfu.createRoom('r', { maxParticipants: 4 });
        const peer = await JanusTestPeer.join(sfu, { roomId: 'r', participantId: 'gone' });
        await peer.publish();
        await peer.vanish();
        const gone = await events.next((e) => e.kind === 'participant-gone', 'participant-gone');
        expect(gone).toMatchObject({ ref: { participantId: 'gone' }, reason: 'transport-closed' });
        if (gone.kind === 'participant-gone') expect(gone.stats.bytesSent).toBeGreaterThan(0);
      } finally {
        await sfu.close();
      }
    });

    it('refuses a listen-only participant’s offer, and everything while Janus is gone, then reports its rooms lost', async () => {
      lone = await startJanus();
      const sfu = await JanusSfu.start({
        url: lone.url,
        connectTimeoutMs: 30_000,
        reconnectWindowMs: 1_000,
      });
      try {
        const events = new Arrivals<SfuEvent>();
        sfu.onEvent((event) => events.push(event));
        await sfu.createRoom('r', { maxParticipants: 4 });
        const ref = { roomId: 'r', participantId: 'listener' };
        await sfu.join(ref, { userId: 'u', deviceId: 'd', listenOnly: true });
        const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
        await expect(
          sfu.request(ref, { method: 'publish', data: { jsep: offer } }),
        ).rejects.toBeInstanceOf(SfuRequestError);

        process.kill(lone.pid, 'SIGKILL');
        const lost = await events.next((e) => e.kind === 'engine-failure', 'rooms lost');
        expect(lost).toMatchObject({ kind: 'engine-failure', roomId: 'r', reconnect: [] });
        await expect(sfu.createRoom('r2', { maxParticipants: 2 })).rejects.toBeInstanceOf(
          SfuUnavailableError,
        );
        await expect(sfu.stats('r')).rejects.toBeInstanceOf(SfuRequestError);
      } finally {
        await sfu.close();
      }
    });
  },
);
