import { availableParallelism } from 'node:os';
import type * as MediasoupModule from 'mediasoup';
import type { types as ms } from 'mediasoup';
import {
  SfuRequestError,
  SfuUnavailableError,
  type SfuEvent,
  type SfuJoinOptions,
  type SfuJoinReply,
  type SfuParticipantRef,
  type SfuParticipantStats,
  type SfuPort,
  type SfuReply,
  type SfuRequest,
  type SfuRoomStats,
} from '../../sfu.port';
import { parseMediasoupRequest, type MediasoupRequest } from './mediasoup-requests';

export interface MediasoupSfuOptions {
  /** The worker binary (see mediasoup-worker-binary.ts). */
  readonly workerBin: string;
  /** Workers to run; default one per core. */
  readonly workers?: number;
  /** The address WebRTC transports listen on. */
  readonly listenIp: string;
  /** The address put in ICE candidates when clients reach the SFU at another (NAT, container). */
  readonly announcedAddress?: string;
  readonly minPort: number;
  readonly maxPort: number;
  /** A participant with no transport connected this long after joining is removed. */
  readonly connectTimeoutMs: number;
  /** Initial send estimate for mediasoup's congestion control (bits per second). */
  readonly initialOutgoingBitrate?: number;
  /** Cap on what one participant may send (bits per second). */
  readonly maxIncomingBitrate?: number;
  readonly logLevel?: 'debug' | 'warn' | 'error' | 'none';
}

/** Opus and VP8 (simulcast-capable); VP8's feedback lets mediasoup run transport-cc / REMB. */
export const MEDIASOUP_CODECS: ms.RouterRtpCodecCapability[] = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    preferredPayloadType: 100,
  },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    preferredPayloadType: 101,
    parameters: { 'x-google-start-bitrate': 1000 },
  },
];

interface WorkerSlot {
  readonly index: number;
  worker: ms.Worker;
  alive: boolean;
}

interface Participant {
  readonly ref: SfuParticipantRef;
  readonly options: SfuJoinOptions;
  readonly joinedAt: string;
  sendTransport?: ms.WebRtcTransport;
  recvTransport?: ms.WebRtcTransport;
  readonly producers: Map<string, ms.Producer>;
  readonly consumers: Map<string, ms.Consumer>;
  connectTimer?: NodeJS.Timeout;
  /** Counters of transports already closed (earlier joins, a dead worker's last poll). */
  carriedSent: number;
  carriedReceived: number;
  /** The last counters read from each current transport (what is left when its worker dies). */
  readonly polled: Map<string, { sent: number; received: number }>;
  remoteAddress?: string;
}

interface Room {
  readonly id: string;
  readonly maxParticipants: number;
  slot: WorkerSlot;
  router: ms.Router;
  speakers: ms.ActiveSpeakerObserver;
  readonly participants: Map<string, Participant>;
}

type Counters = { bytesSent: number; bytesReceived: number; remoteAddress?: string };

/**
 * SfuPort on mediasoup: a worker per core, a router per room (on the least-loaded live worker),
 * one WebRTC send transport (none for listen-only participants) and one receive transport per
 * participant, an active-speaker observer per room, simulcast consumers with preferred layers.
 *
 * A participant's counters are from its own side: `bytesSent` is what it sent to the SFU,
 * `bytesReceived` what the SFU sent it. When a worker dies a replacement is started, each of its
 * rooms gets a router on a live worker, and `engine-failure` names the participants that must join
 * again (their transports died with the worker); one that does not within the connect timeout is
 * reported gone like any other.
 */
export class MediasoupSfu implements SfuPort {
  readonly engine = 'mediasoup' as const;
  private readonly slots: WorkerSlot[] = [];
  private readonly rooms = new Map<string, Room>();
  private readonly listeners = new Set<(event: SfuEvent) => void>();
  private mediasoup!: typeof MediasoupModule;
  private closed = false;

  private constructor(
    private readonly options: MediasoupSfuOptions,
    private readonly now: () => Date,
  ) {}

  /** Starts the workers; throws SfuUnavailableError when the binary does not run. */
  static async start(
    options: MediasoupSfuOptions,
    now: () => Date = () => new Date(),
  ): Promise<MediasoupSfu> {
    // mediasoup reads the binary's path from the environment when it is first loaded.
    process.env['MEDIASOUP_WORKER_BIN'] = options.workerBin;
    const sfu = new MediasoupSfu(options, now);
    sfu.mediasoup = await import('mediasoup');
    const count = Math.max(1, options.workers ?? availableParallelism());
    try {
      for (let index = 0; index < count; index++) sfu.slots.push(await sfu.startWorker(index));
    } catch (error) {
      await sfu.close();
      throw new SfuUnavailableError(`mediasoup worker did not start: ${(error as Error).message}`);
    }
    return sfu;
  }

  /** Process ids of the live workers (operators' metrics; tests kill one to prove recovery). */
  workerPids(): number[] {
    return this.slots.filter((slot) => slot.alive).map((slot) => slot.worker.pid);
  }

  /** The worker pid a room's router runs on. */
  roomWorkerPid(roomId: string): number | undefined {
    return this.rooms.get(roomId)?.slot.worker.pid;
  }

  onEvent(listener: (event: SfuEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async createRoom(roomId: string, options: { readonly maxParticipants: number }): Promise<void> {
    this.assertOpen();
    if (this.rooms.has(roomId)) return;
    const slot = this.leastLoaded();
    const { router, speakers } = await this.openRouter(slot, roomId);
    if (this.rooms.has(roomId)) {
      router.close(); // a concurrent createRoom won
      return;
    }
    this.rooms.set(roomId, {
      id: roomId,
      maxParticipants: options.maxParticipants,
      slot,
      router,
      speakers,
      participants: new Map(),
    });
  }

  async join(ref: SfuParticipantRef, options: SfuJoinOptions): Promise<SfuJoinReply> {
    this.assertOpen();
    const room = this.room(ref.roomId);
    let participant = room.participants.get(ref.participantId);
    if (!participant) {
      if (room.participants.size >= room.maxParticipants) {
        throw new SfuRequestError(`room is full (${room.maxParticipants} participants)`);
      }
      participant = {
        ref,
        options,
        joinedAt: this.now().toISOString(),
        producers: new Map(),
        consumers: new Map(),
        carriedSent: 0,
        carriedReceived: 0,
        polled: new Map(),
      };
      room.participants.set(ref.participantId, participant);
    } else {
      // Joining again (after engine-failure, or a client restart): fresh transports.
      await this.closeMedia(participant);
    }
    try {
      participant.recvTransport = await this.openTransport(room, participant, 'recv');
      if (!participant.options.listenOnly) {
        participant.sendTransport = await this.openTransport(room, participant, 'send');
      }
    } catch (error) {
      await this.closeMedia(participant);
      room.participants.delete(ref.participantId);
      throw this.engineError(error);
    }
    this.armConnectTimer(room, participant);
    return {
      engine: 'mediasoup',
      payload: {
        routerRtpCapabilities: room.router.rtpCapabilities,
        recvTransport: transportInfo(participant.recvTransport),
        ...(participant.sendTransport
          ? { sendTransport: transportInfo(participant.sendTransport) }
          : {}),
        producers: this.producersFor(room, participant),
      },
    };
  }

  async request(ref: SfuParticipantRef, request: SfuRequest): Promise<SfuReply> {
    this.assertOpen();
    const parsed = parseMediasoupRequest(request);
    const room = this.room(ref.roomId);
    const participant = room.participants.get(ref.participantId);
    if (!participant) throw new SfuRequestError('not a participant of this room');
    try {
      return { data: await this.handle(room, participant, parsed) };
    } catch (error) {
      throw this.engineError(error);
    }
  }

  async leave(ref: SfuParticipantRef): Promise<SfuParticipantStats | undefined> {
    const room = this.rooms.get(ref.roomId);
    const participant = room?.participants.get(ref.participantId);
    if (!room || !participant) return undefined;
    room.participants.delete(ref.participantId);
    return this.finish(participant);
  }

  async closeRoom(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    for (const participant of room.participants.values()) await this.finish(participant);
    room.router.close();
  }

  async stats(roomId: string): Promise<SfuRoomStats> {
    const room = this.room(roomId);
    const participants = new Map<string, SfuParticipantStats>();
    for (const participant of room.participants.values()) {
      const counters = await this.counters(participant);
      participants.set(participant.ref.participantId, {
        ...counters,
        joinedAt: participant.joinedAt,
      });
    }
    return { roomId, participants };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const room of this.rooms.values()) {
      for (const participant of room.participants.values()) clearTimeout(participant.connectTimer);
    }
    this.rooms.clear();
    for (const slot of this.slots) {
      slot.alive = false;
      slot.worker.close();
    }
    this.listeners.clear();
    return Promise.resolve();
  }

  // --- requests ------------------------------------------------------------------------------

  private async handle(
    room: Room,
    participant: Participant,
    request: MediasoupRequest,
  ): Promise<Record<string, unknown>> {
    switch (request.method) {
      case 'connect-transport': {
        const transport = this.transport(participant, request.data.transportId);
        await transport.connect({
          dtlsParameters: request.data.dtlsParameters as ms.DtlsParameters,
        });
        return {};
      }
      case 'restart-ice': {
        const transport = this.transport(participant, request.data.transportId);
        return { iceParameters: await transport.restartIce() };
      }
      case 'produce': {
        if (participant.options.listenOnly || !participant.sendTransport) {
          throw new SfuRequestError('a listen-only participant may not produce');
        }
        const producer = await participant.sendTransport.produce({
          kind: request.data.kind,
          rtpParameters: request.data.rtpParameters as unknown as ms.RtpParameters,
          paused: request.data.paused ?? false,
          appData: { participantId: participant.ref.participantId },
        });
        participant.producers.set(producer.id, producer);
        producer.observer.once('close', () => participant.producers.delete(producer.id));
        if (producer.kind === 'audio') {
          await room.speakers.addProducer({ producerId: producer.id }).catch(() => undefined);
        }
        this.broadcast(room, participant, {
          type: 'producer-added',
          producerId: producer.id,
          participantId: participant.ref.participantId,
          kind: producer.kind,
        });
        return { producerId: producer.id };
      }
      case 'close-producer':
        this.producer(participant, request.data.producerId).close();
        return {};
      case 'pause-producer':
        await this.producer(participant, request.data.producerId).pause();
        return {};
      case 'resume-producer':
        await this.producer(participant, request.data.producerId).resume();
        return {};
      case 'consume':
        return this.consume(
          room,
          participant,
          request.data.producerId,
          request.data.rtpCapabilities,
        );
      case 'pause-consumer':
        await this.consumer(participant, request.data.consumerId).pause();
        return {};
      case 'resume-consumer':
        await this.consumer(participant, request.data.consumerId).resume();
        return {};
      case 'set-preferred-layers': {
        const consumer = this.consumer(participant, request.data.consumerId);
        if (consumer.type !== 'simulcast' && consumer.type !== 'svc') {
          throw new SfuRequestError('preferred layers apply to simulcast video only');
        }
        await consumer.setPreferredLayers({
          spatialLayer: request.data.spatialLayer,
          ...(request.data.temporalLayer === undefined
            ? {}
            : { temporalLayer: request.data.temporalLayer }),
        });
        return { preferredLayers: consumer.preferredLayers ?? null };
      }
      case 'request-key-frame':
        await this.consumer(participant, request.data.consumerId).requestKeyFrame();
        return {};
      case 'list-producers':
        return { producers: this.producersFor(room, participant) };
    }
  }

  private async consume(
    room: Room,
    participant: Participant,
    producerId: string,
    rtpCapabilities: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const transport = participant.recvTransport;
    const owner = [...room.participants.values()].find((p) => p.producers.has(producerId));
    if (!transport || !owner) throw new SfuRequestError('no such producer in this room');
    if (owner === participant) throw new SfuRequestError('a participant does not consume itself');
    const capabilities = rtpCapabilities as ms.RtpCapabilities;
    if (!room.router.canConsume({ producerId, rtpCapabilities: capabilities })) {
      throw new SfuRequestError('the client cannot receive this producer (codecs)');
    }
    // Paused until the client says it is ready (after its remote description is set).
    const consumer = await transport.consume({
      producerId,
      rtpCapabilities: capabilities,
      paused: true,
      appData: { participantId: participant.ref.participantId },
    });
    participant.consumers.set(consumer.id, consumer);
    const signal = (data: Record<string, unknown>) =>
      this.emit({
        kind: 'signal',
        ref: participant.ref,
        data: { ...data, consumerId: consumer.id },
      });
    consumer.observer.once('close', () => participant.consumers.delete(consumer.id));
    consumer.on('producerclose', () => {
      participant.consumers.delete(consumer.id);
      signal({ type: 'consumer-closed', producerId, reason: 'producer-closed' });
    });
    consumer.on('producerpause', () => signal({ type: 'consumer-paused' }));
    consumer.on('producerresume', () => signal({ type: 'consumer-resumed' }));
    consumer.on('layerschange', (layers) =>
      signal({ type: 'consumer-layers', layers: layers ?? null }),
    );
    return {
      consumerId: consumer.id,
      producerId,
      kind: consumer.kind,
      type: consumer.type,
      rtpParameters: consumer.rtpParameters,
      producerPaused: consumer.producerPaused,
      participantId: owner.ref.participantId,
    };
  }

  // --- transports and their lifecycle --------------------------------------------------------

  private async openTransport(
    room: Room,
    participant: Participant,
    direction: 'send' | 'recv',
  ): Promise<ms.WebRtcTransport> {
    const { listenIp, announcedAddress, minPort, maxPort } = this.options;
    const listen = (protocol: 'udp' | 'tcp'): ms.TransportListenInfo => ({
      protocol,
      ip: listenIp,
      ...(announcedAddress ? { announcedAddress } : {}),
      portRange: { min: minPort, max: maxPort },
    });
    const transport = await room.router.createWebRtcTransport({
      listenInfos: [listen('udp'), listen('tcp')],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.options.initialOutgoingBitrate ?? 1_000_000,
      appData: { participantId: participant.ref.participantId, direction },
    });
    if (direction === 'send' && this.options.maxIncomingBitrate) {
      await transport.setMaxIncomingBitrate(this.options.maxIncomingBitrate);
    }
    transport.on('dtlsstatechange', (state) => {
      if (state === 'connected') {
        clearTimeout(participant.connectTimer);
        participant.connectTimer = undefined;
      } else if (state === 'failed' || state === 'closed') {
        this.gone(room, participant, transport, 'transport-closed');
      }
    });
    // ICE consent expired: the client stopped answering.
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected' || state === 'closed') {
        this.gone(room, participant, transport, 'transport-closed');
      }
    });
    transport.on('iceselectedtuplechange', (tuple) => {
      if (tuple.remoteIp) participant.remoteAddress = `${tuple.remoteIp}:${tuple.remotePort ?? 0}`;
    });
    return transport;
  }

  private armConnectTimer(room: Room, participant: Participant): void {
    clearTimeout(participant.connectTimer);
    participant.connectTimer = setTimeout(() => {
      participant.connectTimer = undefined;
      this.gone(room, participant, undefined, 'transport-timeout');
    }, this.options.connectTimeoutMs);
    participant.connectTimer.unref();
  }

  /** Removes a participant the engine lost; `transport` must still be one of its current ones. */
  private gone(
    room: Room,
    participant: Participant,
    transport: ms.WebRtcTransport | undefined,
    reason: 'transport-timeout' | 'transport-closed',
  ): void {
    if (this.closed || room.participants.get(participant.ref.participantId) !== participant) return;
    if (
      transport &&
      transport !== participant.sendTransport &&
      transport !== participant.recvTransport
    ) {
      return; // a transport replaced by a later join
    }
    room.participants.delete(participant.ref.participantId);
    void this.finish(participant).then((stats) => {
      this.emit({ kind: 'participant-gone', ref: participant.ref, reason, stats });
    });
  }

  /** Closes the participant's media, returning its final counters. */
  private async finish(participant: Participant): Promise<SfuParticipantStats> {
    clearTimeout(participant.connectTimer);
    participant.connectTimer = undefined;
    await this.closeMedia(participant);
    return {
      bytesSent: participant.carriedSent,
      bytesReceived: participant.carriedReceived,
      ...(participant.remoteAddress ? { remoteAddress: participant.remoteAddress } : {}),
      joinedAt: participant.joinedAt,
      leftAt: this.now().toISOString(),
    };
  }

  /** Reads the transports' last counters into the carried ones, then closes them. */
  private async closeMedia(participant: Participant): Promise<void> {
    const counters = await this.counters(participant);
    participant.carriedSent = counters.bytesSent;
    participant.carriedReceived = counters.bytesReceived;
    participant.polled.clear();
    for (const transport of [participant.sendTransport, participant.recvTransport]) {
      if (transport && !transport.closed) transport.close();
    }
    participant.sendTransport = undefined;
    participant.recvTransport = undefined;
    participant.producers.clear();
    participant.consumers.clear();
  }

  /** Carried counters plus each current transport's (read now; a dead one's last reading). */
  private async counters(participant: Participant): Promise<Counters> {
    let bytesSent = participant.carriedSent;
    let bytesReceived = participant.carriedReceived;
    for (const transport of [participant.sendTransport, participant.recvTransport]) {
      if (!transport) continue;
      if (!transport.closed) {
        const stats = await transport.getStats().catch(() => []);
        for (const stat of stats) {
          // From the participant's side: what the SFU received from it is what it sent.
          participant.polled.set(transport.id, {
            sent: stat.bytesReceived,
            received: stat.bytesSent,
          });
          const tuple = stat.iceSelectedTuple;
          if (tuple?.remoteIp)
            participant.remoteAddress = `${tuple.remoteIp}:${tuple.remotePort ?? 0}`;
        }
      }
      const last = participant.polled.get(transport.id);
      bytesSent += last?.sent ?? 0;
      bytesReceived += last?.received ?? 0;
    }
    return {
      bytesSent,
      bytesReceived,
      ...(participant.remoteAddress ? { remoteAddress: participant.remoteAddress } : {}),
    };
  }

  // --- workers, routers, recovery ------------------------------------------------------------

  private async startWorker(index: number): Promise<WorkerSlot> {
    const worker = await this.mediasoup.createWorker({
      logLevel: this.options.logLevel ?? 'warn',
      appData: { index },
    });
    const slot: WorkerSlot = { index, worker, alive: true };
    worker.on('died', (error) => void this.recover(slot, error));
    return slot;
  }

  private async openRouter(
    slot: WorkerSlot,
    roomId: string,
  ): Promise<{ router: ms.Router; speakers: ms.ActiveSpeakerObserver }> {
    const router = await slot.worker.createRouter({
      mediaCodecs: MEDIASOUP_CODECS,
      appData: { roomId },
    });
    const speakers = await router.createActiveSpeakerObserver({ interval: 300 });
    speakers.on('dominantspeaker', ({ producer }) => {
      const room = this.rooms.get(roomId);
      const participantId = (producer.appData as { participantId?: string }).participantId;
      const participant = participantId ? room?.participants.get(participantId) : undefined;
      if (participant) this.emit({ kind: 'active-speaker', ref: participant.ref });
    });
    return { router, speakers };
  }

  /** A worker died: replace it, move its rooms to live workers, tell who must join again. */
  private async recover(slot: WorkerSlot, error: Error): Promise<void> {
    if (this.closed) return;
    slot.alive = false;
    const detail = `mediasoup worker ${slot.worker.pid} died: ${error.message}`;
    try {
      const replacement = await this.startWorker(slot.index);
      this.slots[this.slots.indexOf(slot)] = replacement;
    } catch {
      // Left dead; the other workers carry on (none left: SfuUnavailableError).
    }
    if (this.closed) return;
    for (const room of [...this.rooms.values()].filter((r) => r.slot === slot)) {
      const reconnect: string[] = [];
      for (const participant of room.participants.values()) {
        // The transports died with the worker; keep the counters last read (closeMedia polls).
        await this.closeMedia(participant);
        reconnect.push(participant.ref.participantId);
      }
      try {
        const target = this.leastLoaded();
        const { router, speakers } = await this.openRouter(target, room.id);
        room.slot = target;
        room.router = router;
        room.speakers = speakers;
      } catch {
        this.rooms.delete(room.id);
        for (const participant of room.participants.values())
          clearTimeout(participant.connectTimer);
        this.emit({
          kind: 'engine-failure',
          roomId: room.id,
          detail: `${detail}; room lost`,
          reconnect: [],
        });
        continue;
      }
      for (const participant of room.participants.values()) this.armConnectTimer(room, participant);
      this.emit({ kind: 'engine-failure', roomId: room.id, detail, reconnect });
    }
  }

  private leastLoaded(): WorkerSlot {
    const live = this.slots.filter((slot) => slot.alive);
    if (live.length === 0) throw new SfuUnavailableError('no mediasoup worker is running');
    const load = (slot: WorkerSlot) =>
      [...this.rooms.values()].filter((room) => room.slot === slot).length;
    return live.reduce((best, slot) => (load(slot) < load(best) ? slot : best));
  }

  // --- lookups and helpers -------------------------------------------------------------------

  private room(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw new SfuRequestError('no such room');
    if (!room.slot.alive) throw new SfuUnavailableError('the room is moving to another worker');
    return room;
  }

  private transport(participant: Participant, transportId: string): ms.WebRtcTransport {
    const transport = [participant.sendTransport, participant.recvTransport].find(
      (t) => t?.id === transportId,
    );
    if (!transport) throw new SfuRequestError('no such transport for this participant');
    return transport;
  }

  private producer(participant: Participant, producerId: string): ms.Producer {
    const producer = participant.producers.get(producerId);
    if (!producer) throw new SfuRequestError('no such producer for this participant');
    return producer;
  }

  private consumer(participant: Participant, consumerId: string): ms.Consumer {
    const consumer = participant.consumers.get(consumerId);
    if (!consumer) throw new SfuRequestError('no such consumer for this participant');
    return consumer;
  }

  private producersFor(room: Room, participant: Participant): Record<string, unknown>[] {
    return [...room.participants.values()]
      .filter((other) => other !== participant)
      .flatMap((other) =>
        [...other.producers.values()].map((producer) => ({
          producerId: producer.id,
          participantId: other.ref.participantId,
          kind: producer.kind,
        })),
      );
  }

  private broadcast(room: Room, from: Participant, data: Record<string, unknown>): void {
    for (const other of room.participants.values()) {
      if (other !== from) this.emit({ kind: 'signal', ref: other.ref, data });
    }
  }

  private emit(event: SfuEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private assertOpen(): void {
    if (this.closed) throw new SfuUnavailableError('the SFU is closed');
  }

  /** mediasoup's validation errors are the client's fault; a closed worker or channel is not. */
  private engineError(error: unknown): Error {
    if (error instanceof SfuRequestError || error instanceof SfuUnavailableError) return error;
    if (error instanceof TypeError || (error as Error).name === 'UnsupportedError') {
      return new SfuRequestError(`refused by mediasoup: ${(error as Error).message.slice(0, 200)}`);
    }
    return new SfuUnavailableError(`mediasoup: ${(error as Error).message.slice(0, 200)}`);
  }
}

function transportInfo(
  transport: ms.WebRtcTransport | undefined,
): Record<string, unknown> | undefined {
  if (!transport) return undefined;
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}
