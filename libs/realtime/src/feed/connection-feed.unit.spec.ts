import type { Principal } from '@ledgerline/identity';
import { NotFoundError, UnavailableError, type GlobalPosition } from '@ledgerline/kernel';
import { RealtimeRequestError } from '../protocol/realtime-errors';
import { ConnectionFeed, type FeedOutput } from './connection-feed';
import type { FeedItem, FeedPage, RealtimeFeed } from './realtime-feed.port';

// The resume protocol with an in-memory feed: what the client receives, in what order, when live
// items race a catch-up, skip revisions, or reads fail.

const ALICE: Principal = { kind: 'user', id: 'alice', tenantId: 't1', roles: ['user'] };

class MemoryFeed implements RealtimeFeed {
  readonly streams_ = new Map<string, FeedItem[]>();
  private readonly subscribers = new Set<(item: FeedItem) => void>();
  private commit = 0n;
  /** Runs before each read answers (to commit or push things "during" a catch-up). */
  beforeRead: ((streamId: string, after: bigint) => void | Promise<void>) | undefined;
  failReads: Error | undefined;
  failStreams: Error | undefined;
  readonly reads: { streamId: string; after: bigint; atLeast?: GlobalPosition }[] = [];
  hidden = new Set<string>();

  whenLive(_principal: Principal): Promise<void> {
    return Promise.resolve();
  }

  live(_principal: Principal, push: (item: FeedItem) => void): () => void {
    this.subscribers.add(push);
    return () => this.subscribers.delete(push);
  }

  get registered(): number {
    return this.subscribers.size;
  }

  streams(): Promise<readonly string[]> {
    if (this.failStreams) return Promise.reject(this.failStreams);
    return Promise.resolve([...this.streams_.keys()].filter((s) => !this.hidden.has(s)));
  }

  async read(
    _principal: Principal,
    streamId: string,
    afterRevision: bigint,
    limit: number,
    atLeast?: GlobalPosition,
  ): Promise<FeedPage> {
    this.reads.push({ streamId, after: afterRevision, ...(atLeast ? { atLeast } : {}) });
    await this.beforeRead?.(streamId, afterRevision);
    if (this.failReads) throw this.failReads;
    if (this.hidden.has(streamId)) throw new NotFoundError(`no stream ${streamId}`);
    const all = (this.streams_.get(streamId) ?? []).filter((i) => i.revision > afterRevision);
    return {
      items: all.slice(0, limit).map((i) => ({ ...i, frame: `${i.frame}*` })),
      more: all.length > limit,
    };
  }

  canFollow(): Promise<void> {
    return Promise.resolve();
  }

  /** Every call of `readable`, with how many ids it named. */
  readonly readableCalls: number[] = [];

  readable(_principal: Principal, streamIds: readonly string[]): Promise<ReadonlySet<string>> {
    this.readableCalls.push(streamIds.length);
    return Promise.resolve(new Set(streamIds.filter((id) => !this.hidden.has(id))));
  }

  /** Appends an event (committed) without pushing it live. */
  append(streamId: string): FeedItem {
    const items = this.streams_.get(streamId) ?? [];
    this.streams_.set(streamId, items);
    this.commit += 1n;
    const revision = BigInt(items.length);
    const frame = `${streamId}@${revision}`;
    const item: FeedItem = {
      streamId,
      revision,
      position: { commit: this.commit, prepare: this.commit },
      frame,
      bytes: frame.length,
    };
    items.push(item);
    return item;
  }

  push(item: FeedItem): void {
    for (const s of this.subscribers) s(item);
  }

  /** Appends and pushes live. */
  publish(streamId: string): FeedItem {
    const item = this.append(streamId);
    this.push(item);
    return item;
  }
}

class RecordingOutput implements FeedOutput {
  readonly sent: string[] = [];
  readonly stales: [string, bigint][] = [];
  held = 0;
  maxHeld = 0;
  roomWaits = 0;
  capBytes = Number.MAX_SAFE_INTEGER;
  send(frame: string): boolean {
    this.sent.push(frame);
    return true;
  }
  hold(bytes: number): boolean {
    if (this.held + bytes > this.capBytes) return false;
    this.held += bytes;
    this.maxHeld = Math.max(this.maxHeld, this.held);
    return true;
  }
  release(bytes: number): void {
    this.held -= bytes;
  }
  room(): Promise<void> {
    this.roomWaits += 1;
    return Promise.resolve();
  }
  stale(streamId: string, revision: bigint): void {
    this.stales.push([streamId, revision]);
  }
  /** Revisions sent of one stream, catch-up frames marked with `*`. */
  of(streamId: string): string[] {
    return this.sent
      .filter((f) => f.startsWith(`${streamId}@`))
      .map((f) => f.slice(streamId.length + 1));
  }
}

const settle = () => new Promise((r) => setImmediate(r));

function setUp(pageSize = 2) {
  const feed = new MemoryFeed();
  const out = new RecordingOutput();
  const errors: unknown[] = [];
  const connection = new ConnectionFeed(feed, ALICE, out, {
    pageSize,
    onError: (_s, e) => errors.push(e),
  });
  return { feed, out, connection, errors };
}

describe('ConnectionFeed', () => {
  it('delivers nothing before the first sync, then catches each stream up from its cursor', async () => {
    const { feed, out, connection } = setUp();
    for (let i = 0; i < 5; i++) feed.append('a');
    for (let i = 0; i < 3; i++) feed.append('b');
    expect(feed.registered).toBe(0);

    const outcomes = await connection.sync({
      cursors: [{ streamId: 'a', revision: 1n }],
      discover: true,
    });
    expect(outcomes).toEqual([
      { streamId: 'a', revision: 4n, status: 'ok' },
      { streamId: 'b', revision: 2n, status: 'ok' },
    ]);
    expect(out.of('a')).toEqual(['2*', '3*', '4*']);
    expect(out.of('b')).toEqual(['0*', '1*', '2*']);
    expect(feed.registered).toBe(1);
    // Paged reads, each page after the last revision sent; one wait for room per item sent.
    expect(feed.reads.map((r) => [r.streamId, r.after])).toEqual([
      ['a', 1n],
      ['a', 3n],
      ['b', -1n],
      ['b', 1n],
    ]);
    expect(out.roomWaits).toBe(6);

    feed.publish('a');
    feed.publish('b');
    expect(out.of('a').slice(-1)).toEqual(['5']);
    expect(out.of('b').slice(-1)).toEqual(['3']);
  });

  it('leaves no window between catch-up and live: what races the catch-up comes once, in order', async () => {
    const { feed, out, connection } = setUp(3);
    for (let i = 0; i < 4; i++) feed.append('a');
    // While the catch-up reads, events commit and are pushed live; some were read already, some not.
    feed.beforeRead = (_s, after) => {
      if (after === -1n) {
        const late = feed.append('a'); // committed: in the read, and live after it
        feed.push(late);
      }
      if (after === 2n) {
        feed.publish('a');
        feed.publish('b'); // another stream's live item waits behind the catch-up too
      }
    };
    const outcomes = await connection.sync({
      cursors: [{ streamId: 'a', revision: -1n }],
      discover: false,
    });
    expect(outcomes).toEqual([{ streamId: 'a', revision: 5n, status: 'ok' }]);
    expect(out.of('a')).toEqual(['0*', '1*', '2*', '3*', '4*', '5*']);
    expect(out.of('b')).toEqual(['0']);
    expect(out.held).toBe(0);
    expect(out.maxHeld).toBeGreaterThan(0);
    feed.beforeRead = undefined;
    feed.publish('a');
    expect(out.of('a').slice(-1)).toEqual(['6']);
  });

  it('heals a live gap with a catch-up from the last revision sent, then carries on live', async () => {
    const { feed, out, connection } = setUp();
    feed.append('a');
    await connection.sync({ cursors: [], discover: true });
    feed.append('a'); // the fan-out passed over revision 1
    const gapped = feed.publish('a');
    feed.publish('a');
    await settle();
    await settle();
    expect(out.of('a')).toEqual(['0*', '1*', '2*', '3*']);
    // The healing read starts after the last revision sent, once the domain has seen the gapped item.
    expect(feed.reads.slice(1).map((r) => [r.streamId, r.after, r.atLeast])).toEqual([
      ['a', 0n, gapped.position],
      ['a', 2n, gapped.position],
    ]);
    feed.publish('a');
    expect(out.of('a').slice(-1)).toEqual(['4']);
  });

  it('marks a stream stale when a healing catch-up fails, and a later sync brings it back', async () => {
    const { feed, out, connection, errors } = setUp();
    feed.append('a');
    feed.append('b');
    await connection.sync({ cursors: [], discover: true });
    feed.failReads = new UnavailableError('database down');
    feed.append('a');
    feed.publish('a');
    await settle();
    await settle();
    expect(out.stales).toEqual([['a', 0n]]);
    feed.publish('a'); // dropped: the stream is stale
    feed.publish('b'); // other streams carry on
    expect(out.of('a')).toEqual(['0*']);
    expect(out.of('b')).toEqual(['0*', '1']);
    expect(errors).toEqual([]); // an outage is not a bug

    feed.failReads = undefined;
    const outcomes = await connection.sync({
      cursors: [{ streamId: 'a', revision: 0n }],
      discover: false,
    });
    expect(outcomes).toEqual([{ streamId: 'a', revision: 3n, status: 'ok' }]);
    expect(out.of('a')).toEqual(['0*', '1*', '2*', '3*']);
    feed.publish('a');
    expect(out.of('a').slice(-1)).toEqual(['4']);
  });

  it('answers not_found for a stream the principal may not read, and unavailable (with progress) on an outage', async () => {
    const { feed, out, connection } = setUp();
    feed.append('gone');
    feed.hidden.add('gone');
    for (let i = 0; i < 4; i++) feed.append('a');
    let reads = 0;
    feed.beforeRead = (streamId) => {
      if (streamId === 'a' && ++reads === 2) throw new UnavailableError('database down');
    };
    const outcomes = await connection.sync({
      cursors: [
        { streamId: 'gone', revision: -1n },
        { streamId: 'a', revision: -1n },
      ],
      discover: false,
    });
    expect(outcomes).toEqual([
      { streamId: 'gone', revision: -1n, status: 'not_found' },
      { streamId: 'a', revision: 1n, status: 'unavailable' },
    ]);
    expect(out.of('a')).toEqual(['0*', '1*']);
    expect(out.of('gone')).toEqual([]);
    expect(connection.revisionOf('gone')).toBeUndefined();
  });

  // Issue 10, item 14: each unknown id was read (and its denial recorded) one by one.
  it('decides every named stream in one call and reads none of those refused', async () => {
    const { feed, connection } = setUp();
    feed.append('a');
    const unknown = Array.from({ length: 850 }, (_, i) => `unknown-${i}`);
    for (const id of unknown) feed.hidden.add(id);
    const outcomes = await connection.sync({
      cursors: [...unknown, 'a'].map((streamId) => ({ streamId, revision: -1n })),
      discover: false,
    });
    expect(feed.readableCalls).toEqual([851]);
    expect(feed.reads.map((r) => r.streamId)).toEqual(['a']);
    expect(outcomes.filter((o) => o.status === 'not_found')).toHaveLength(850);
    expect(outcomes.find((o) => o.streamId === 'a')).toEqual({
      streamId: 'a',
      revision: 0n,
      status: 'ok',
    });
  });

  it('undoes a first sync that failed: nothing delivered, nothing registered, and a retry starts clean', async () => {
    const { feed, out, connection } = setUp();
    feed.append('a');
    feed.failStreams = new UnavailableError('database down');
    await expect(connection.sync({ cursors: [], discover: true })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(feed.registered).toBe(0);
    feed.publish('a');
    expect(out.sent).toEqual([]);

    feed.failStreams = undefined;
    await connection.sync({ cursors: [], discover: true });
    expect(out.of('a')).toEqual(['0*', '1*']);
  });

  it('refuses a second sync while one runs, and stops everything on close', async () => {
    const { feed, out, connection } = setUp();
    feed.append('a');
    let release!: () => void;
    feed.beforeRead = () => new Promise<void>((r) => (release = r));
    const first = connection.sync({ cursors: [], discover: true });
    await settle();
    await expect(connection.sync({ cursors: [], discover: true })).rejects.toBeInstanceOf(
      RealtimeRequestError,
    );
    release();
    await first;
    connection.close();
    expect(feed.registered).toBe(0);
    feed.publish('a');
    expect(out.of('a')).toEqual(['0*']);
  });

  it('starts a stream first seen live (created or joined after the sync) at that item', async () => {
    const { feed, out, connection } = setUp();
    await connection.sync({ cursors: [], discover: true });
    feed.append('new');
    feed.append('new');
    feed.publish('new');
    feed.publish('new');
    expect(out.of('new')).toEqual(['2', '3']);
    expect(connection.revisionOf('new')).toBe(3n);
  });

  it('holds live items during a catch-up within the send buffer; over it, nothing more is held', async () => {
    const { feed, out, connection } = setUp(1);
    feed.append('a');
    feed.append('a');
    out.capBytes = 10; // room for two frames like 'b@0'
    feed.beforeRead = (_s, after) => {
      if (after === -1n) for (let i = 0; i < 5; i++) feed.publish('b');
    };
    await connection.sync({ cursors: [{ streamId: 'a', revision: -1n }], discover: false });
    expect(out.maxHeld).toBeLessThanOrEqual(10);
    expect(out.of('b')).toEqual(['0', '1', '2']);
  });

  it('reports each frame it hands out, once, as live or catch-up (metrics), and nothing it drops', async () => {
    const feed = new MemoryFeed();
    const out = new RecordingOutput();
    const delivered: string[] = [];
    const connection = new ConnectionFeed(feed, ALICE, out, {
      pageSize: 2,
      onDelivered: (item, path) => delivered.push(`${item.streamId}@${item.revision} ${path}`),
    });
    for (let i = 0; i < 3; i++) feed.append('a');
    await connection.sync({ cursors: [], discover: true });
    feed.publish('a');
    feed.push(feed.streams_.get('a')![1]!); // a duplicate: not sent, not counted
    feed.publish('b');
    await settle();
    expect(delivered).toEqual([
      'a@0 catch_up',
      'a@1 catch_up',
      'a@2 catch_up',
      'a@3 live',
      'b@0 live',
    ]);
    expect(delivered).toHaveLength(out.sent.length);
  });
});
