import {
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
} from '@ledgerline/sfu';

/**
 * An SfuPort for the calls lib's own tests: it records what the calls application asks of the port
 * and lets a test raise engine events or take the engine down. It stands in for the engines
 * (mediasoup, Janus), which libs/sfu provides and tests with real RTP in its own contract suite;
 * here only the calls side of the port is under test.
 */
export class RecordingSfu implements SfuPort {
  readonly engine = 'mediasoup' as const;
  readonly calls: { method: string; args: unknown[] }[] = [];
  down = false;
  private readonly listeners = new Set<(event: SfuEvent) => void>();
  private readonly joined = new Map<string, SfuParticipantStats>();

  createRoom(roomId: string, options: { readonly maxParticipants: number }): Promise<void> {
    return this.op('createRoom', [roomId, options], undefined);
  }

  join(ref: SfuParticipantRef, options: SfuJoinOptions): Promise<SfuJoinReply> {
    this.joined.set(key(ref), {
      bytesSent: 0,
      bytesReceived: 0,
      joinedAt: new Date().toISOString(),
    });
    return this.op('join', [ref, options], {
      engine: this.engine,
      payload: { routerRtpCapabilities: { codecs: [] }, listenOnly: options.listenOnly },
    });
  }

  request(ref: SfuParticipantRef, request: SfuRequest): Promise<SfuReply> {
    return this.op('request', [ref, request], { data: { echoed: request.method } });
  }

  leave(ref: SfuParticipantRef): Promise<SfuParticipantStats | undefined> {
    const stats = this.joined.get(key(ref));
    this.joined.delete(key(ref));
    return this.op(
      'leave',
      [ref],
      stats && {
        ...stats,
        bytesSent: 1234,
        bytesReceived: 5678,
        remoteAddress: '198.51.100.7:40000',
        leftAt: new Date().toISOString(),
      },
    );
  }

  closeRoom(roomId: string): Promise<void> {
    return this.op('closeRoom', [roomId], undefined);
  }

  stats(roomId: string): Promise<SfuRoomStats> {
    return this.op('stats', [roomId], { roomId, participants: new Map() });
  }

  onEvent(listener: (event: SfuEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Raises an engine event, as an engine would. */
  emit(event: SfuEvent): void {
    for (const l of this.listeners) l(event);
  }

  called(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  private op<T>(method: string, args: unknown[], result: T): Promise<T> {
    if (this.down) return Promise.reject(new SfuUnavailableError('engine down'));
    this.calls.push({ method, args });
    return Promise.resolve(result);
  }
}

function key(ref: SfuParticipantRef): string {
  return `${ref.roomId} ${ref.participantId}`;
}
