import {
  SfuRequestError,
  type SfuEvent,
  type SfuParticipantRef,
  type SfuPort,
  type SfuRequest,
} from '../sfu.port';
import { Arrivals, STARTUP_TIMEOUT_MS } from '@ledgerline/testing';

/** What the suite needs of a media flow a peer receives. */
export interface ContractMedia {
  readonly consumerId: string;
  readonly kind: 'audio' | 'video';
  readonly packets: number;
  /** Which simulcast layer the frames came from, by their width (video only). */
  readonly lastWidth?: number;
}

/** A programmatic WebRTC client of one engine (real ICE, DTLS, SRTP and RTP on loopback). */
export interface ContractPeer {
  readonly ref: SfuParticipantRef;
  /** RTP packets sent so far. */
  readonly sent: number;
  /** Loudness of the audio it sends (0 loudest, 127 silence). */
  audioLevel: number;
  readonly sendTransportId: string | undefined;
  connectRecv(): Promise<void>;
  publish(): Promise<{ audioProducerId: string; videoProducerId: string }>;
  consume(producerId: string): Promise<ContractMedia>;
  until(check: () => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

export interface SfuContractSubject {
  readonly name: string;
  /** Why the engine cannot run here; the suite is then registered as skipped with this reason. */
  readonly unavailable: string | undefined;
  /**
   * Why media cannot flow through the engine here although it runs (found by a probe, such as a
   * worker that cannot complete a DTLS handshake); the tests that need a connected peer are then
   * registered as skipped with this reason, the rest still run.
   */
  readonly mediaUnavailable?: string | undefined;
  open(options: { readonly connectTimeoutMs: number }): Promise<SfuPort>;
  join(
    port: SfuPort,
    ref: SfuParticipantRef,
    options?: { listenOnly?: boolean },
  ): Promise<ContractPeer>;
  /** The engine's request for preferred simulcast layers of a consumer. */
  preferLayer(consumerId: string, spatialLayer: number): SfuRequest;
  /** Kills the engine process carrying the room, for engines that recover from that. */
  killRoomProcess?(port: SfuPort, roomId: string): void;
}

/** Widths the peers send on simulcast layers 0, 1, 2. */
const LAYER_WIDTHS = [320, 640, 1280];
/** Enough RTP to tell a flowing stream from a stopped one, small enough to stay quick. */
const FLOWING = 25;

/**
 * The SfuPort contract, run against every engine with real WebRTC peers on loopback: rooms,
 * admission, real media from a publisher to subscribers, listen-only refusal, bad requests,
 * pause/resume, simulcast layers, counters, a transport that never connects, leaving, and (where
 * the engine survives it) the loss of the process carrying a room.
 */
export function sfuContract(subject: SfuContractSubject): void {
  const title = `SfuPort contract: ${subject.name}`;
  if (subject.unavailable) {
    describe.skip(`${title} [skipped: ${subject.unavailable}]`, () => {
      it('runs when the engine is available', () => undefined);
    });
    return;
  }

  const media = (name: string, fn: () => Promise<void>) =>
    subject.mediaUnavailable
      ? it.skip(`${name} [skipped: ${subject.mediaUnavailable}]`, fn)
      : it(name, fn);

  describe(title, () => {
    jest.setTimeout(STARTUP_TIMEOUT_MS);
    let port: SfuPort;
    let events: Arrivals<SfuEvent>;
    const peers: ContractPeer[] = [];
    let roomSeq = 0;
    const room = () => `room-${process.pid}-${++roomSeq}`;
    const join = async (roomId: string, participantId: string, listenOnly = false) => {
      const peer = await subject.join(port, { roomId, participantId }, { listenOnly });
      peers.push(peer);
      return peer;
    };

    /** A room where a subscriber receives a publisher's audio. */
    const audioFlowing = async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const publisher = await join(roomId, 'pub');
      const subscriber = await join(roomId, 'sub');
      const { audioProducerId } = await publisher.publish();
      await subscriber.connectRecv();
      const audio = await subscriber.consume(audioProducerId);
      await subscriber.until(() => audio.packets >= FLOWING, 'audio flows');
      return { roomId, publisher, subscriber, audioProducerId, audio };
    };

    beforeAll(async () => {
      port = await subject.open({ connectTimeoutMs: 8_000 });
    });
    beforeEach(() => {
      events = new Arrivals<SfuEvent>();
      const off = port.onEvent((event) => events.push(event));
      afterEachCleanups.push(off);
    });
    const afterEachCleanups: (() => void)[] = [];
    afterEach(async () => {
      for (const off of afterEachCleanups.splice(0)) off();
      await Promise.all(peers.splice(0).map((peer) => peer.close()));
    });
    afterAll(async () => {
      await port?.close();
    });

    it('creates rooms idempotently and refuses a join to a room that does not exist', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      await port.createRoom(roomId, { maxParticipants: 4 });
      expect((await port.stats(roomId)).participants.size).toBe(0);
      await expect(join(`${roomId}-missing`, 'a')).rejects.toBeInstanceOf(SfuRequestError);
    });

    media(
      'forwards a publisher’s audio and video to every subscriber and counts bytes each way',
      async () => {
        const roomId = room();
        await port.createRoom(roomId, { maxParticipants: 4 });
        const publisher = await join(roomId, 'pub');
        const { audioProducerId, videoProducerId } = await publisher.publish();
        const [alice, bob] = [await join(roomId, 'alice'), await join(roomId, 'bob')];
        for (const subscriber of [alice, bob]) {
          await subscriber.connectRecv();
          const audio = await subscriber.consume(audioProducerId);
          const video = await subscriber.consume(videoProducerId);
          await subscriber.until(
            () => audio.packets >= FLOWING && video.packets >= FLOWING,
            `${subscriber.ref.participantId} receives audio and video`,
          );
        }
        const stats = await port.stats(roomId);
        const pub = stats.participants.get('pub')!;
        const sub = stats.participants.get('alice')!;
        expect(pub.bytesSent).toBeGreaterThan(0);
        expect(sub.bytesReceived).toBeGreaterThan(0);
        expect(pub.remoteAddress).toMatch(/^[\d.]+:\d+$/);
        expect(sub.remoteAddress).toMatch(/^[\d.]+:\d+$/);
      },
    );

    it('refuses anything a listen-only participant produces', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const listener = await join(roomId, 'listener', true);
      expect(listener.sendTransportId).toBeUndefined();
      const refused = port.request(listener.ref, {
        method: 'produce',
        data: { kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus' }] } },
      });
      await expect(refused).rejects.toBeInstanceOf(SfuRequestError);
    });

    media('lets a listen-only participant receive', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const publisher = await join(roomId, 'pub');
      const listener = await join(roomId, 'listener', true);
      const { audioProducerId } = await publisher.publish();
      await listener.connectRecv();
      const audio = await listener.consume(audioProducerId);
      await listener.until(() => audio.packets >= FLOWING, 'the listener hears the publisher');
    });

    it('refuses unknown methods, malformed data, strangers and a full room, changing nothing', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 2 });
      const a = await join(roomId, 'a');
      await join(roomId, 'b');
      await expect(port.request(a.ref, { method: 'drop-table', data: {} })).rejects.toBeInstanceOf(
        SfuRequestError,
      );
      await expect(
        port.request(a.ref, { method: 'consume', data: { producerId: 7 } }),
      ).rejects.toBeInstanceOf(SfuRequestError);
      await expect(
        port.request(a.ref, {
          method: 'consume',
          data: { producerId: 'nope', rtpCapabilities: {} },
        }),
      ).rejects.toBeInstanceOf(SfuRequestError);
      await expect(
        port.request({ roomId, participantId: 'stranger' }, { method: 'list-producers', data: {} }),
      ).rejects.toBeInstanceOf(SfuRequestError);
      await expect(join(roomId, 'c')).rejects.toBeInstanceOf(SfuRequestError);
      expect([...(await port.stats(roomId)).participants.keys()].sort()).toEqual(['a', 'b']);
    });

    media('stops and restarts forwarding when a consumer is paused and resumed', async () => {
      const { publisher, subscriber, audio } = await audioFlowing();
      await port.request(subscriber.ref, {
        method: 'pause-consumer',
        data: { consumerId: audio.consumerId },
      });
      // Packets already on the wire may still land; after many more are sent, hardly any did.
      const atPause = audio.packets;
      const sentAtPause = publisher.sent;
      await publisher.until(
        () => publisher.sent >= sentAtPause + 6 * FLOWING,
        'the publisher sends on',
      );
      expect(audio.packets - atPause).toBeLessThan(FLOWING / 2);
      await port.request(subscriber.ref, {
        method: 'resume-consumer',
        data: { consumerId: audio.consumerId },
      });
      const atResume = audio.packets;
      await subscriber.until(() => audio.packets >= atResume + FLOWING, 'audio flows again');
    });

    media('sends a subscriber the simulcast layer it prefers', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const publisher = await join(roomId, 'pub');
      const subscriber = await join(roomId, 'sub');
      const { videoProducerId } = await publisher.publish();
      await subscriber.connectRecv();
      const video = await subscriber.consume(videoProducerId);
      for (const layer of [0, 2, 1]) {
        await port.request(subscriber.ref, subject.preferLayer(video.consumerId, layer));
        await subscriber.until(
          () => video.lastWidth === LAYER_WIDTHS[layer],
          `layer ${layer} arrives`,
        );
      }
    });

    media('reports the active speaker', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const quiet = await join(roomId, 'quiet');
      const loud = await join(roomId, 'loud');
      loud.audioLevel = 5;
      await quiet.publish();
      await loud.publish();
      await events.next(
        (e) =>
          e.kind === 'active-speaker' && e.ref.roomId === roomId && e.ref.participantId === 'loud',
        'active-speaker for the loud participant',
      );
    });

    it('removes a participant whose transport never connects, with its counters', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      await join(roomId, 'silent');
      const gone = await events.next(
        (e) => e.kind === 'participant-gone' && e.ref.roomId === roomId,
        'participant-gone',
      );
      expect(gone).toMatchObject({
        kind: 'participant-gone',
        ref: { roomId, participantId: 'silent' },
        reason: 'transport-timeout',
        stats: { bytesSent: 0, bytesReceived: 0 },
      });
      expect((await port.stats(roomId)).participants.size).toBe(0);
    });

    media('reports a participant whose connection closes as gone', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const leaving = await join(roomId, 'leaving');
      await leaving.publish();
      await leaving.close();
      const gone = await events.next(
        (e) => e.kind === 'participant-gone' && e.ref.roomId === roomId,
        'participant-gone after close',
      );
      expect(gone).toMatchObject({ ref: { participantId: 'leaving' }, reason: 'transport-closed' });
      if (gone.kind === 'participant-gone') expect(gone.stats.bytesSent).toBeGreaterThan(0);
    });

    media(
      'closes the subscriptions to what a participant published when it leaves, saying so',
      async () => {
        const { roomId, publisher, subscriber, audioProducerId, audio } = await audioFlowing();
        await port.leave(publisher.ref);
        const closed = await events.next(
          (e) =>
            e.kind === 'signal' && e.ref.roomId === roomId && e.data['type'] === 'consumer-closed',
          'consumer-closed',
        );
        // `producer-closed`: what it carried is gone (a `transport-closed` one may be subscribed again).
        expect(closed).toMatchObject({
          ref: { participantId: 'sub' },
          data: {
            consumerId: audio.consumerId,
            producerId: audioProducerId,
            reason: 'producer-closed',
          },
        });
        await expect(
          port.request(subscriber.ref, {
            method: 'pause-consumer',
            data: { consumerId: audio.consumerId },
          }),
        ).rejects.toBeInstanceOf(SfuRequestError);
      },
    );

    it('returns final counters on leave, and leave and closeRoom are idempotent', async () => {
      const roomId = room();
      await port.createRoom(roomId, { maxParticipants: 4 });
      const peer = await join(roomId, 'p');
      const stats = await port.leave(peer.ref);
      expect(typeof stats?.joinedAt).toBe('string');
      expect(typeof stats?.leftAt).toBe('string');
      expect((await port.stats(roomId)).participants.size).toBe(0);
      expect(await port.leave(peer.ref)).toBeUndefined();
      await port.closeRoom(roomId);
      await port.closeRoom(roomId);
      await expect(port.stats(roomId)).rejects.toBeInstanceOf(SfuRequestError);
    });

    const kill = subject.killRoomProcess;
    (kill ? it : it.skip)(
      `moves a room whose engine process dies and tells its participants to reconnect${kill ? '' : ' [skipped: the engine has no per-room process to kill]'}`,
      async () => {
        const roomId = room();
        await port.createRoom(roomId, { maxParticipants: 4 });
        const publisher = await join(roomId, 'pub');
        const subscriber = await join(roomId, 'sub');
        kill!(port, roomId);
        const failure = await events.next(
          (e) => e.kind === 'engine-failure' && e.roomId === roomId,
          'engine-failure',
        );
        expect(failure.kind === 'engine-failure' && [...failure.reconnect].sort()).toEqual([
          'pub',
          'sub',
        ]);
        // The call goes on: both join again in the room's new home (and media flows, where it can).
        await Promise.all([publisher.close(), subscriber.close()]);
        const again = await join(roomId, 'pub');
        const listener = await join(roomId, 'sub');
        expect([...(await port.stats(roomId)).participants.keys()].sort()).toEqual(['pub', 'sub']);
        if (subject.mediaUnavailable) return;
        const { audioProducerId } = await again.publish();
        await listener.connectRecv();
        const audio = await listener.consume(audioProducerId);
        await listener.until(() => audio.packets >= FLOWING, 'audio flows after recovery');
      },
    );
  });
}
