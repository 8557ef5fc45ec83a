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

// What the contract cannot say engine-neutrally: Janus down, gone for good, and a listen-only
// participant's SDP offer.
(unavailable ? describe.skip : describe)(
  `JanusSfu beyond the contract${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    jest.setTimeout(150_000);
    let lone: JanusProcess | undefined;
    afterEach(async () => {
      await lone?.stop();
      lone = undefined;
    });

    it('is unavailable (retryable) when Janus does not answer', async () => {
      lone = await startJanus();
      const url = lone.url;
      await lone.stop();
      lone = undefined;
      const start = JanusSfu.start({ url, connectTimeoutMs: 5_000 });
      await expect(start).rejects.toBeInstanceOf(SfuUnavailableError);
      await expect(start).rejects.toMatchObject({ retryable: true });
    });

    it('closes the subscriptions to what a participant published when it leaves', async () => {
      lone = await startJanus();
      const sfu = await JanusSfu.start({ url: lone.url, connectTimeoutMs: 30_000 });
      const peers: JanusTestPeer[] = [];
      try {
        const events = new Arrivals<SfuEvent>();
        sfu.onEvent((event) => events.push(event));
        await sfu.createRoom('r', { maxParticipants: 4 });
        const publisher = await JanusTestPeer.join(sfu, { roomId: 'r', participantId: 'pub' });
        const subscriber = await JanusTestPeer.join(sfu, { roomId: 'r', participantId: 'sub' });
        peers.push(publisher, subscriber);
        const { audioProducerId } = await publisher.publish();
        const audio = await subscriber.consume(audioProducerId);
        await subscriber.until(() => audio.packets > 0, 'audio flows');
        await sfu.leave(publisher.ref);
        const closed = await events.next(
          (e) => e.kind === 'signal' && e.data['type'] === 'consumer-closed',
          'consumer-closed',
        );
        expect(closed).toMatchObject({
          ref: { participantId: 'sub' },
          data: { consumerId: audio.consumerId },
        });
        await expect(
          sfu.request(subscriber.ref, {
            method: 'pause-consumer',
            data: { consumerId: audio.consumerId },
          }),
        ).rejects.toBeInstanceOf(SfuRequestError);
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
        await sfu.close();
      }
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
