import { randomBytes, randomInt } from 'node:crypto';
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
import {
  JanusConnection,
  JanusConnectionError,
  JanusError,
  type JanusMessage,
} from './janus-connection';
import { handleCounters } from './janus-handle-info';
import { parseJanusRequest, parseProducerId, type JanusRequest } from './janus-requests';

export interface JanusSfuOptions {
  /** Janus's WebSocket API, e.g. ws://127.0.0.1:8188. */
  readonly url: string;
  /** Janus's Admin API (WebSocket), for per-participant counters; without it counters stay 0. */
  readonly adminUrl?: string;
  readonly adminSecret?: string;
  /** A participant with no connection up (Janus's `webrtcup`) this long after joining is removed. */
  readonly connectTimeoutMs: number;
  /** How long a request to Janus may take. */
  readonly requestTimeoutMs?: number;
  /** How often each connected handle's counters are read from the Admin API. */
  readonly statsIntervalMs?: number;
  /** How long to try to reach Janus again after the connection drops before rooms are lost. */
  readonly reconnectWindowMs?: number;
}

const VIDEOROOM = 'janus.plugin.videoroom';
/** Janus core codes for a session or handle it no longer knows: the engine's state was lost. */
const LOST_STATE_CODES = new Set([458, 459]);
/** VideoRoom: a room with this id exists already. */
const ROOM_EXISTS = 427;

interface Consumer {
  readonly id: string;
  readonly handle: number;
  readonly producerId: string;
  readonly kind: string;
  /** The stream's mid on the subscriber's connection. */
  mid: string;
}

interface Participant {
  readonly ref: SfuParticipantRef;
  readonly options: SfuJoinOptions;
  readonly joinedAt: string;
  /** The VideoRoom feed id of this participant's publisher handle. */
  feed: number;
  publisher?: number;
  /** Published streams: mid → kind. */
  readonly published: Map<string, string>;
  /**
   * The publisher's PeerConnection is up (Janus's `webrtcup` on its handle). Only then does
   * VideoRoom take subscriptions to its streams (before, a subscribe is refused: "No such feed"),
   * so only then are they announced (`producer-added`) and listed to others.
   */
  mediaUp: boolean;
  /** Its published streams were announced to the others (once per publish). */
  announced: boolean;
  readonly consumers: Map<string, Consumer>;
  connectTimer?: NodeJS.Timeout;
  carriedSent: number;
  carriedReceived: number;
  /** The last counters read per current handle. */
  readonly polled: Map<number, { sent: number; received: number }>;
  remoteAddress?: string;
}

/** A VideoRoom room as this adapter made it: its id, and the pin and secret only it knows. */
interface JanusRoom {
  readonly janusRoom: number;
  readonly pin: string;
  readonly secret: string;
}

interface Room extends JanusRoom {
  readonly id: string;
  readonly maxParticipants: number;
  readonly participants: Map<string, Participant>;
}

interface HandleOwner {
  readonly room: Room;
  readonly participant: Participant;
  readonly consumer?: Consumer;
}

/**
 * SfuPort on Janus's VideoRoom plugin, over Janus's WebSocket API: one Janus session, a VideoRoom
 * room per room (publishers cap = maxParticipants, VP8 and Opus, simulcast allowed, talking events
 * on), a publisher handle per participant that may send (none for listen-only ones) and a
 * subscriber handle per stream it consumes. SDP goes through `request` (`publish` → answer,
 * `consume` → Janus's offer, answered with `start`).
 *
 * Counters come from the Admin API's `handle_info` (read every statsIntervalMs while connected and
 * again on demand), from the participant's side: `bytesSent` is what it sent to Janus. When the
 * connection to Janus drops, every room's participants are told to reconnect once Janus is reached
 * again and the rooms are re-created there (`engine-failure`); until then requests are refused
 * with SfuUnavailableError.
 */
export class JanusSfu implements SfuPort {
  readonly engine = 'janus' as const;
  private conn!: JanusConnection;
  private admin?: JanusConnection;
  private session = 0;
  private manager = 0;
  private state: 'up' | 'recovering' | 'closed' = 'up';
  private keepalive?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private polling = false;
  private readonly rooms = new Map<string, Room>();
  private readonly handles = new Map<number, HandleOwner>();
  private readonly listeners = new Set<(event: SfuEvent) => void>();

  private constructor(
    private readonly options: JanusSfuOptions,
    private readonly now: () => Date,
  ) {}

  /** Connects to Janus; throws SfuUnavailableError when it cannot be reached. */
  static async start(
    options: JanusSfuOptions,
    now: () => Date = () => new Date(),
  ): Promise<JanusSfu> {
    const sfu = new JanusSfu(options, now);
    try {
      await sfu.connect();
    } catch (error) {
      await sfu.close();
      throw new SfuUnavailableError(`Janus is not reachable: ${(error as Error).message}`);
    }
    sfu.poller = setInterval(() => void sfu.pollAll(), options.statsIntervalMs ?? 1_000);
    sfu.poller.unref();
    return sfu;
  }

  onEvent(listener: (event: SfuEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async createRoom(roomId: string, options: { readonly maxParticipants: number }): Promise<void> {
    this.assertUp();
    if (this.rooms.has(roomId)) return;
    const created = await this.createJanusRoom(options.maxParticipants);
    if (this.rooms.has(roomId)) {
      await this.destroyJanusRoom(created); // a concurrent createRoom won
      return;
    }
    this.rooms.set(roomId, {
      id: roomId,
      ...created,
      maxParticipants: options.maxParticipants,
      participants: new Map(),
    });
  }

  async join(ref: SfuParticipantRef, options: SfuJoinOptions): Promise<SfuJoinReply> {
    this.assertUp();
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
        feed: 0,
        published: new Map(),
        mediaUp: false,
        announced: false,
        consumers: new Map(),
        carriedSent: 0,
        carriedReceived: 0,
        polled: new Map(),
      };
      room.participants.set(ref.participantId, participant);
    } else {
      // Joining again (after engine-failure, or a client restart): fresh handles.
      await this.closeMedia(participant);
    }
    try {
      if (!participant.options.listenOnly) {
        participant.feed = randomInt(1, 2 ** 47);
        const handle = await this.attach({ room, participant });
        participant.publisher = handle;
        await this.message(handle, {
          request: 'join',
          ptype: 'publisher',
          room: room.janusRoom,
          pin: room.pin,
          id: participant.feed,
        });
      }
    } catch (error) {
      await this.closeMedia(participant);
      room.participants.delete(ref.participantId);
      throw this.engineError(error);
    }
    this.armConnectTimer(room, participant);
    return {
      engine: 'janus',
      payload: {
        room: room.janusRoom,
        ...(participant.publisher ? { feedId: participant.feed } : {}),
        listenOnly: participant.options.listenOnly,
        producers: this.producersFor(room, participant),
      },
    };
  }

  async request(ref: SfuParticipantRef, request: SfuRequest): Promise<SfuReply> {
    this.assertUp();
    const parsed = parseJanusRequest(request);
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
    return this.finish(participant, room);
  }

  async closeRoom(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    for (const participant of room.participants.values()) await this.finish(participant);
    if (this.state === 'up') await this.destroyJanusRoom(room);
  }

  async stats(roomId: string): Promise<SfuRoomStats> {
    const room = this.room(roomId);
    const participants = new Map<string, SfuParticipantStats>();
    for (const participant of room.participants.values()) {
      await this.poll(participant);
      participants.set(participant.ref.participantId, {
        ...this.counters(participant),
        joinedAt: participant.joinedAt,
      });
    }
    return { roomId, participants };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up' && this.conn?.isOpen;
    this.state = 'closed';
    clearInterval(this.keepalive);
    clearInterval(this.poller);
    for (const room of this.rooms.values()) {
      for (const participant of room.participants.values()) clearTimeout(participant.connectTimer);
    }
    if (wasUp) {
      for (const room of this.rooms.values()) await this.destroyJanusRoom(room);
      await this.conn
        .request({ janus: 'destroy', session_id: this.session })
        .catch(() => undefined);
    }
    this.rooms.clear();
    this.handles.clear();
    this.conn?.close();
    this.admin?.close();
    this.listeners.clear();
  }

  // --- requests ------------------------------------------------------------------------------

  private async handle(
    room: Room,
    participant: Participant,
    request: JanusRequest,
  ): Promise<Record<string, unknown>> {
    switch (request.method) {
      case 'publish': {
        if (participant.options.listenOnly || !participant.publisher) {
          throw new SfuRequestError('a listen-only participant may not publish');
        }
        const reply = await this.message(
          participant.publisher,
          { request: 'publish', audiocodec: 'opus', videocodec: 'vp8' },
          request.data.jsep,
        );
        if (!reply.jsep) throw new SfuRequestError('Janus did not answer the offer');
        const streams = Array.isArray(reply.data['streams'])
          ? (reply.data['streams'] as { type?: string; mid?: string; disabled?: boolean }[])
          : [];
        const producers: Record<string, unknown>[] = [];
        for (const stream of streams) {
          if (stream.disabled || !stream.mid || !['audio', 'video'].includes(stream.type ?? '')) {
            continue;
          }
          participant.published.set(stream.mid, stream.type!);
          producers.push({
            producerId: `${participant.feed}:${stream.mid}`,
            kind: stream.type,
            mid: stream.mid,
          });
        }
        this.announce(room, participant); // now if its media is up already, else on webrtcup
        return { jsep: reply.jsep, producers };
      }
      case 'unpublish': {
        if (!participant.publisher) throw new SfuRequestError('nothing published');
        await this.message(participant.publisher, { request: 'unpublish' });
        forgetPublished(participant);
        return {};
      }
      case 'consume':
        return this.consume(room, participant, request.data.producerId);
      case 'start': {
        const consumer = this.consumer(participant, request.data.consumerId);
        await this.message(consumer.handle, { request: 'start' }, request.data.jsep);
        return {};
      }
      case 'pause-consumer':
      case 'resume-consumer': {
        const consumer = this.consumer(participant, request.data.consumerId);
        await this.message(consumer.handle, {
          request: 'configure',
          streams: [{ mid: consumer.mid, send: request.method === 'resume-consumer' }],
        });
        return {};
      }
      case 'close-consumer': {
        const consumer = this.consumer(participant, request.data.consumerId);
        await this.dropHandle(participant, consumer.handle);
        participant.consumers.delete(consumer.id);
        return {};
      }
      case 'set-preferred-layers': {
        const consumer = this.consumer(participant, request.data.consumerId);
        if (consumer.kind !== 'video') {
          throw new SfuRequestError('preferred layers apply to simulcast video only');
        }
        await this.message(consumer.handle, {
          request: 'configure',
          streams: [
            {
              mid: consumer.mid,
              substream: request.data.spatialLayer,
              ...(request.data.temporalLayer === undefined
                ? {}
                : { temporal: request.data.temporalLayer }),
            },
          ],
        });
        return {};
      }
      case 'trickle': {
        const handle = request.data.consumerId
          ? this.consumer(participant, request.data.consumerId).handle
          : participant.publisher;
        if (!handle) throw new SfuRequestError('no connection to trickle to');
        await this.conn.request(
          {
            janus: 'trickle',
            session_id: this.session,
            handle_id: handle,
            candidate: request.data.candidate,
          },
          { ackIsFinal: true },
        );
        return {};
      }
      case 'list-producers':
        return { producers: this.producersFor(room, participant) };
    }
  }

  private async consume(
    room: Room,
    participant: Participant,
    producerId: string,
  ): Promise<Record<string, unknown>> {
    const wanted = parseProducerId(producerId);
    const owner = this.publisherOf(room, producerId);
    if (!wanted || !owner) throw new SfuRequestError('no such producer in this room');
    if (owner === participant) throw new SfuRequestError('a participant does not consume itself');
    const consumer: Consumer = {
      id: randomBytes(12).toString('hex'),
      handle: 0,
      producerId,
      kind: owner.published.get(wanted.mid)!,
      mid: wanted.mid,
    };
    const handle = await this.attach({ room, participant, consumer });
    (consumer as { handle: number }).handle = handle;
    try {
      const reply = await this.message(handle, {
        request: 'join',
        ptype: 'subscriber',
        room: room.janusRoom,
        pin: room.pin,
        streams: [{ feed: wanted.feed, mid: wanted.mid }],
      });
      if (!reply.jsep) throw new SfuUnavailableError('Janus sent no offer for the subscription');
      const streams = Array.isArray(reply.data['streams'])
        ? (reply.data['streams'] as { mid?: string }[])
        : [];
      consumer.mid = streams[0]?.mid ?? consumer.mid;
      participant.consumers.set(consumer.id, consumer);
      return {
        consumerId: consumer.id,
        producerId,
        kind: consumer.kind,
        participantId: owner.ref.participantId,
        jsep: reply.jsep,
      };
    } catch (error) {
      await this.dropHandle(participant, handle);
      throw error;
    }
  }

  // --- Janus events --------------------------------------------------------------------------

  private onJanusEvent(message: JanusMessage): void {
    if (this.state !== 'up') return;
    if (message.janus === 'timeout') {
      this.conn.close(); // the session is gone: recover as from a dropped connection
      return;
    }
    const owner = message.sender === undefined ? undefined : this.handles.get(message.sender);
    if (!owner) return;
    const { room, participant, consumer } = owner;
    if (room.participants.get(participant.ref.participantId) !== participant) return;
    switch (message.janus) {
      case 'webrtcup':
        clearTimeout(participant.connectTimer);
        participant.connectTimer = undefined;
        if (message.sender === participant.publisher) {
          participant.mediaUp = true;
          this.announce(room, participant);
        }
        return;
      case 'media':
        // Media started on this handle: read its counters now, so that a connection that closes
        // before the next periodic poll still leaves what it moved (a hung-up handle reports no
        // counters any more).
        if (message['receiving'] === true) void this.poll(participant);
        return;
      case 'hangup':
      case 'detached':
        if (consumer) {
          if (!participant.consumers.has(consumer.id)) return;
          participant.consumers.delete(consumer.id);
          void this.dropHandle(participant, consumer.handle);
          // Either what it carried went (its publisher is leaving), or the subscription's own
          // connection did (ICE or DTLS failed, or the client hung up): then the client may
          // subscribe to it again.
          this.emit({
            kind: 'signal',
            ref: participant.ref,
            data: {
              type: 'consumer-closed',
              consumerId: consumer.id,
              producerId: consumer.producerId,
              reason: this.publisherOf(room, consumer.producerId)
                ? 'transport-closed'
                : 'producer-closed',
            },
          });
          // The client's side went (ICE or DTLS) and it has no connection left: it is gone.
          const reason = typeof message['reason'] === 'string' ? message['reason'] : '';
          const clientSide = /ICE failed|DTLS/i.test(reason);
          if (clientSide && !participant.publisher && participant.consumers.size === 0) {
            this.gone(room, participant, 'transport-closed');
          }
        } else if (message.sender === participant.publisher) {
          this.gone(room, participant, 'transport-closed');
        }
        return;
      case 'event': {
        const data = message.plugindata?.data;
        if (
          data?.['videoroom'] === 'talking' &&
          data['id'] === participant.feed &&
          message.sender === participant.publisher
        ) {
          this.emit({ kind: 'active-speaker', ref: participant.ref });
        }
        return;
      }
      default:
        return;
    }
  }

  private armConnectTimer(room: Room, participant: Participant): void {
    clearTimeout(participant.connectTimer);
    participant.connectTimer = setTimeout(() => {
      participant.connectTimer = undefined;
      this.gone(room, participant, 'transport-timeout');
    }, this.options.connectTimeoutMs);
    participant.connectTimer.unref();
  }

  private gone(
    room: Room,
    participant: Participant,
    reason: 'transport-timeout' | 'transport-closed',
  ): void {
    if (this.state === 'closed') return;
    if (room.participants.get(participant.ref.participantId) !== participant) return;
    room.participants.delete(participant.ref.participantId);
    void this.finish(participant, room).then((stats) => {
      this.emit({ kind: 'participant-gone', ref: participant.ref, reason, stats });
    });
  }

  /**
   * Closes the participant's handles, returning its final counters; in a room that goes on, the
   * others' subscriptions to what it published are closed too (`consumer-closed`).
   */
  private async finish(participant: Participant, room?: Room): Promise<SfuParticipantStats> {
    clearTimeout(participant.connectTimer);
    participant.connectTimer = undefined;
    const producers = new Set(
      [...participant.published.keys()].map((mid) => `${participant.feed}:${mid}`),
    );
    await this.closeMedia(participant);
    if (room && producers.size > 0) {
      for (const other of room.participants.values()) {
        for (const consumer of [...other.consumers.values()]) {
          if (!producers.has(consumer.producerId)) continue;
          other.consumers.delete(consumer.id);
          await this.dropHandle(other, consumer.handle);
          this.emit({
            kind: 'signal',
            ref: other.ref,
            data: {
              type: 'consumer-closed',
              consumerId: consumer.id,
              producerId: consumer.producerId,
              reason: 'producer-closed',
            },
          });
        }
      }
    }
    return {
      bytesSent: participant.carriedSent,
      bytesReceived: participant.carriedReceived,
      ...(participant.remoteAddress ? { remoteAddress: participant.remoteAddress } : {}),
      joinedAt: participant.joinedAt,
      leftAt: this.now().toISOString(),
    };
  }

  /** Reads every handle's counters one last time, then detaches them. */
  private async closeMedia(participant: Participant): Promise<void> {
    await this.poll(participant);
    const handles = [
      ...(participant.publisher ? [participant.publisher] : []),
      ...[...participant.consumers.values()].map((c) => c.handle),
    ];
    participant.publisher = undefined;
    forgetPublished(participant);
    participant.consumers.clear();
    await Promise.all(handles.map((handle) => this.dropHandle(participant, handle)));
  }

  /** Folds a handle's last counters into the carried ones, forgets it and detaches it. */
  private async dropHandle(participant: Participant, handle: number): Promise<void> {
    const last = participant.polled.get(handle);
    participant.carriedSent += last?.sent ?? 0;
    participant.carriedReceived += last?.received ?? 0;
    participant.polled.delete(handle);
    if (!this.handles.delete(handle) || this.state !== 'up') return;
    await this.conn
      .request({ janus: 'detach', session_id: this.session, handle_id: handle })
      .catch(() => undefined);
  }

  // --- counters ------------------------------------------------------------------------------

  private async pollAll(): Promise<void> {
    if (this.state !== 'up' || !this.admin || this.polling) return;
    this.polling = true;
    try {
      for (const room of [...this.rooms.values()]) {
        for (const participant of [...room.participants.values()]) await this.poll(participant);
      }
    } finally {
      this.polling = false;
    }
  }

  /** Reads the Admin API's counters of each of the participant's current handles. */
  private async poll(participant: Participant): Promise<void> {
    if (this.state !== 'up' || !this.admin?.isOpen) return;
    const handles = [...this.handles.entries()]
      .filter(([, owner]) => owner.participant === participant)
      .map(([handle]) => handle);
    for (const handle of handles) {
      const reply = await this.admin
        .request({
          janus: 'handle_info',
          session_id: this.session,
          handle_id: handle,
          ...(this.options.adminSecret ? { admin_secret: this.options.adminSecret } : {}),
        })
        .catch(() => undefined);
      if (!reply || !this.handles.has(handle)) continue;
      const counters = handleCounters(reply['info']);
      const previous = participant.polled.get(handle);
      // A handle that hung up reports no streams any more: keep what it had.
      if (!counters.connected && previous) continue;
      participant.polled.set(handle, { sent: counters.bytesIn, received: counters.bytesOut });
      if (counters.remoteAddress) participant.remoteAddress = counters.remoteAddress;
    }
  }

  private counters(participant: Participant): {
    bytesSent: number;
    bytesReceived: number;
    remoteAddress?: string;
  } {
    let bytesSent = participant.carriedSent;
    let bytesReceived = participant.carriedReceived;
    for (const last of participant.polled.values()) {
      bytesSent += last.sent;
      bytesReceived += last.received;
    }
    return {
      bytesSent,
      bytesReceived,
      ...(participant.remoteAddress ? { remoteAddress: participant.remoteAddress } : {}),
    };
  }

  // --- the connection to Janus and its recovery ----------------------------------------------

  private async connect(): Promise<void> {
    const timeoutMs = this.options.requestTimeoutMs ?? 10_000;
    const conn = await JanusConnection.connect(this.options.url, { timeoutMs });
    try {
      const created = await conn.request({ janus: 'create' });
      const session = created.data?.id;
      if (typeof session !== 'number') throw new JanusConnectionError('Janus gave no session');
      const attached = await conn.request({
        janus: 'attach',
        session_id: session,
        plugin: VIDEOROOM,
      });
      const manager = attached.data?.id;
      if (typeof manager !== 'number') throw new JanusConnectionError('Janus gave no handle');
      const admin = this.options.adminUrl
        ? await JanusConnection.connect(this.options.adminUrl, { admin: true, timeoutMs })
        : undefined;
      this.conn = conn;
      this.admin?.close();
      this.admin = admin;
      this.session = session;
      this.manager = manager;
    } catch (error) {
      conn.close();
      throw error;
    }
    conn.onEvent = (message) => this.onJanusEvent(message);
    conn.onClose = () => void this.recover();
    clearInterval(this.keepalive);
    // Janus drops a session idle for session_timeout (60 s by default).
    this.keepalive = setInterval(() => {
      void conn
        .request({ janus: 'keepalive', session_id: this.session }, { ackIsFinal: true })
        .catch(() => undefined);
    }, 15_000);
    this.keepalive.unref();
  }

  /**
   * The connection to Janus dropped (Janus died or restarted): its rooms and handles are gone.
   * Reach it again, re-create the rooms under their ids, and tell each room's participants to join
   * again; after reconnectWindowMs without Janus the rooms are lost (engine-failure, no one to
   * reconnect), and retries go on for new rooms.
   */
  private async recover(): Promise<void> {
    if (this.state !== 'up') return;
    this.state = 'recovering';
    clearInterval(this.keepalive);
    this.handles.clear();
    for (const room of this.rooms.values()) {
      for (const participant of room.participants.values()) {
        for (const last of participant.polled.values()) {
          participant.carriedSent += last.sent;
          participant.carriedReceived += last.received;
        }
        participant.polled.clear();
        participant.publisher = undefined;
        forgetPublished(participant);
        participant.consumers.clear();
        clearTimeout(participant.connectTimer);
      }
    }
    const started = Date.now();
    const window = this.options.reconnectWindowMs ?? 30_000;
    let lostRooms = false;
    for (let attempt = 0; ; attempt++) {
      if ((this.state as string) === 'closed') return;
      try {
        await this.connect();
        break;
      } catch {
        if (!lostRooms && Date.now() - started > window) {
          lostRooms = true;
          const rooms = [...this.rooms.values()];
          this.rooms.clear();
          for (const room of rooms) {
            this.emit({
              kind: 'engine-failure',
              roomId: room.id,
              detail: 'the connection to Janus dropped and Janus was not reached again; room lost',
              reconnect: [],
            });
          }
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)).unref(),
        );
      }
    }
    if ((this.state as string) === 'closed') {
      // Closed while reconnecting: let go of the connection just made.
      clearInterval(this.keepalive);
      this.conn.close();
      this.admin?.close();
      return;
    }
    this.state = 'up';
    for (const room of [...this.rooms.values()]) {
      const reconnect = [...room.participants.keys()];
      try {
        await this.message(this.manager, this.createBody(room, room.maxParticipants));
      } catch {
        this.rooms.delete(room.id);
        this.emit({
          kind: 'engine-failure',
          roomId: room.id,
          detail: 'Janus was reached again but the room could not be re-created; room lost',
          reconnect: [],
        });
        continue;
      }
      for (const participant of room.participants.values()) this.armConnectTimer(room, participant);
      this.emit({
        kind: 'engine-failure',
        roomId: room.id,
        detail: 'the connection to Janus dropped; the room was re-created',
        reconnect,
      });
    }
  }

  // --- Janus requests ------------------------------------------------------------------------

  private async attach(owner: HandleOwner): Promise<number> {
    const reply = await this.conn.request({
      janus: 'attach',
      session_id: this.session,
      plugin: VIDEOROOM,
    });
    const handle = reply.data?.id;
    if (typeof handle !== 'number') throw new JanusConnectionError('Janus gave no handle');
    this.handles.set(handle, owner);
    return handle;
  }

  private async message(
    handle: number,
    body: Record<string, unknown>,
    jsep?: { type: string; sdp: string },
  ): Promise<{ data: Record<string, unknown>; jsep?: { type: string; sdp: string } }> {
    const reply = await this.conn.request({
      janus: 'message',
      session_id: this.session,
      handle_id: handle,
      body,
      ...(jsep ? { jsep } : {}),
    });
    return { data: reply.plugindata?.data ?? {}, ...(reply.jsep ? { jsep: reply.jsep } : {}) };
  }

  private createBody(room: JanusRoom, maxParticipants: number): Record<string, unknown> {
    return {
      request: 'create',
      room: room.janusRoom,
      // Only this adapter joins, edits or destroys it, even were the Janus API reachable by others.
      pin: room.pin,
      secret: room.secret,
      permanent: false,
      is_private: true,
      publishers: maxParticipants,
      videocodec: 'vp8',
      audiocodec: 'opus',
      audiolevel_ext: true,
      audiolevel_event: true,
      // Talking when the average level of the last second of audio is above -40 dBov.
      audio_active_packets: 50,
      audio_level_average: 40,
      notify_joining: false,
    };
  }

  private async createJanusRoom(maxParticipants: number): Promise<JanusRoom> {
    for (let attempt = 0; ; attempt++) {
      const room: JanusRoom = {
        janusRoom: randomInt(1, 2 ** 47),
        pin: randomBytes(16).toString('hex'),
        secret: randomBytes(16).toString('hex'),
      };
      try {
        await this.message(this.manager, this.createBody(room, maxParticipants));
        return room;
      } catch (error) {
        if (error instanceof JanusError && error.code === ROOM_EXISTS && attempt < 3) continue;
        throw this.engineError(error);
      }
    }
  }

  private async destroyJanusRoom(room: JanusRoom): Promise<void> {
    await this.message(this.manager, {
      request: 'destroy',
      room: room.janusRoom,
      secret: room.secret,
    }).catch(() => undefined);
  }

  // --- lookups and helpers -------------------------------------------------------------------

  private room(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw new SfuRequestError('no such room');
    return room;
  }

  private consumer(participant: Participant, consumerId: string): Consumer {
    const consumer = participant.consumers.get(consumerId);
    if (!consumer) throw new SfuRequestError('no such consumer for this participant');
    return consumer;
  }

  private producersFor(room: Room, participant: Participant): Record<string, unknown>[] {
    return [...room.participants.values()]
      .filter((other) => other !== participant && other.mediaUp)
      .flatMap((other) =>
        [...other.published.entries()].map(([mid, kind]) => ({
          producerId: `${other.feed}:${mid}`,
          participantId: other.ref.participantId,
          kind,
        })),
      );
  }

  /** The participant in the room whose producer this is, while it can be subscribed to. */
  private publisherOf(room: Room, producerId: string): Participant | undefined {
    const wanted = parseProducerId(producerId);
    if (!wanted) return undefined;
    return [...room.participants.values()].find(
      (p) => p.publisher && p.mediaUp && p.feed === wanted.feed && p.published.has(wanted.mid),
    );
  }

  /** Announces the participant's published streams to the others, once its media is up. */
  private announce(room: Room, participant: Participant): void {
    if (!participant.mediaUp || participant.announced || participant.published.size === 0) return;
    participant.announced = true;
    for (const [mid, kind] of participant.published) {
      const data = {
        type: 'producer-added',
        producerId: `${participant.feed}:${mid}`,
        participantId: participant.ref.participantId,
        kind,
      };
      for (const other of room.participants.values()) {
        if (other !== participant) this.emit({ kind: 'signal', ref: other.ref, data });
      }
    }
  }

  private emit(event: SfuEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private assertUp(): void {
    if (this.state === 'closed') throw new SfuUnavailableError('the SFU is closed');
    if (this.state === 'recovering' || !this.conn.isOpen) {
      throw new SfuUnavailableError('Janus is not reachable; reconnecting');
    }
  }

  /** Janus's refusals of what the client sent are the client's fault; a lost connection is not. */
  private engineError(error: unknown): Error {
    if (error instanceof SfuRequestError || error instanceof SfuUnavailableError) return error;
    if (error instanceof JanusError && !LOST_STATE_CODES.has(error.code)) {
      return new SfuRequestError(`refused by Janus: ${error.message.slice(0, 200)}`);
    }
    return new SfuUnavailableError(`Janus: ${(error as Error).message.slice(0, 200)}`);
  }
}

/** The participant publishes nothing (any more): a new publish is announced when its media is up. */
function forgetPublished(participant: Participant): void {
  participant.published.clear();
  participant.mediaUp = false;
  participant.announced = false;
}
