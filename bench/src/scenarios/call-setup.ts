import { performance } from 'node:perf_hooks';
import {
  MediasoupSfu,
  locateMediasoupWorker,
  type SfuJoinReply,
  type SfuParticipantRef,
} from '@ledgerline/sfu';
import { MediasoupTestPeer, type ReceivedMedia, type SfuSignalling } from '@ledgerline/sfu/testing';
import { summarise, type Comparison, type Tally } from '../report';
import { DirectCallPeer } from './calls/direct-call-peer';
import { BenchIdentityProvider } from './realtime/bench-identity';
import { BENCH_TENANT, startLedgerline, type LedgerlineChild } from './realtime/ledgerline-child';
import { RealtimeClientPool, type ServerFrame } from './realtime/realtime-clients';
import { LedgerlineWorkProbe, workBetween } from './realtime/work-probe';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'call setup';
/** 1:1 calls and group joins timed per side at BENCH_SCALE=1 (at least MIN_SAMPLES). */
const SAMPLES = 40;
const MIN_SAMPLES = 5;
/** A step of a set-up (a reply, a pushed frame, first media) that never comes fails the run. */
const STEP_TIMEOUT_MS = 30_000;
const SERVER_POOL_SIZE = 10;
const TURN_SECRET = 'bench-call-setup-secret-0123456789';

/**
 * Call set-up time, start → media flowing, through the compiled server (its own process, a fresh
 * schema of the bench PostgreSQL), against the same peers set up without the server:
 *
 * - 1:1: two werift peers (calls/direct-call-peer.ts) signalling through `/v1/realtime` as the
 *   calls e2e page does: callStart, the callee's `call` push (CallStarted), callAccept, the
 *   caller's `call` push (ParticipantJoined), offer and answer through callSignal; until the
 *   callee receives RTP. Reference: the same two peers exchanging offer and answer directly.
 * - group join (mediasoup): a host's group call publishing (MediasoupTestPeer), then each joiner's
 *   callJoin, connect-transport, consume (audio and video, resumed) through callSfu, until both
 *   arrive; then callLeave. Reference: the same join on a mediasoup SfuPort in this process.
 *
 * The server's work over each kind (SQL statements, commits, server CPU) is tallied.
 */
export const callSetup: Scenario = {
  name: NAME,
  summary:
    `set-up time p50/p99 of ${SAMPLES} (x BENCH_SCALE) 1:1 calls, callStart → the callee's first ` +
    'RTP packet (werift peers on loopback, host candidates in the SDP, no trickle, STUN/TURN ' +
    'not used), signalled through the compiled server (callStart, callAccept, callSignal offer ' +
    'and answer) vs the same peers exchanging offer and answer directly; and of as many group ' +
    'joins, callJoin → audio and video RTP arriving (connect-transport, consume, resume through ' +
    'callSfu to the server’s mediasoup) vs the same join on a mediasoup SfuPort in this ' +
    'process; sequential, subject and reference alternating; the tallies count the server’s ' +
    'SQL statements, commits and CPU ms over each kind per set-up (an idle server’s few ' +
    'statements a second during the run included)',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      context.progress(`${NAME}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
      return { comparisons: [], tallies: [] };
    }
    const samples = Math.max(MIN_SAMPLES, Math.round(SAMPLES * context.scale));
    const binary = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined);
    const sfuMissing = !binary
      ? 'no mediasoup worker binary (npm run media:worker)'
      : !binary.dtlsProbed
        ? 'the mediasoup worker did not pass the DTLS probe'
        : undefined;
    const db = await context.db.openSibling();
    const identity = await BenchIdentityProvider.start();
    try {
      context.progress(`${NAME}: starting the Ledgerline server`);
      const server = await startLedgerline(db.url!, identity, SERVER_POOL_SIZE, {
        LEDGERLINE_TURN_SECRETS: TURN_SECRET,
        ...(binary && !sfuMissing
          ? {
              LEDGERLINE_SFU_ENGINE: 'mediasoup',
              MEDIASOUP_WORKER_BIN: binary.path,
              LEDGERLINE_SFU_WORKERS: '1',
            }
          : { LEDGERLINE_SFU_ENGINE: 'none' }),
      });
      try {
        const calls = new CallClients(server, identity);
        try {
          const comparisons: Comparison[] = [];
          const tallies: Tally[] = [];
          const direct = await measureDirect(context, server, calls, samples);
          comparisons.push(direct.comparison);
          tallies.push(direct.tally);
          if (sfuMissing) {
            context.progress(`${NAME}: group join not measured (${sfuMissing})`);
            tallies.push({
              scenario: NAME,
              phase: `group join: not measured (${sfuMissing})`,
              streams: 0,
              events: 0,
              calls: {},
            });
          } else {
            const group = await measureGroupJoin(context, server, calls, samples, binary!.path);
            comparisons.push(group.comparison);
            tallies.push(group.tally);
          }
          return { comparisons, tallies };
        } finally {
          await calls.close();
        }
      } finally {
        await server.stop();
      }
    } finally {
      await identity.close();
      await db.close();
    }
  },
};

/** Pushed frames one client is waiting for, by predicate. */
type Waiter = { match: (frame: ServerFrame) => boolean; resolve: (frame: ServerFrame) => void };

/**
 * The realtime clients of the scenario (one per user and device, in one RealtimeClientPool), with
 * a way to wait for a pushed frame (`call`, `callSignal`) on one of them.
 */
class CallClients {
  private readonly pool: RealtimeClientPool;
  private readonly waiters = new Map<number, Set<Waiter>>();
  private readonly index = new Map<string, number>();

  constructor(
    server: LedgerlineChild,
    private readonly identity: BenchIdentityProvider,
  ) {
    this.pool = RealtimeClientPool.for(server.url);
    this.pool.sink = {
      reply: () => undefined,
      event: () => undefined,
      push: (client, frame) => {
        for (const waiter of [...(this.waiters.get(client) ?? [])]) {
          if (!waiter.match(frame)) continue;
          this.waiters.get(client)!.delete(waiter);
          waiter.resolve(frame);
        }
      },
    };
  }

  /** Connects `users` (each its own device `<user>-device`), answering their tokens. */
  async connect(users: readonly string[], signal: AbortSignal): Promise<Map<string, string>> {
    const tokens = new Map<string, string>();
    for (const user of users) tokens.set(user, await this.identity.token(BENCH_TENANT, user));
    const first = this.pool.size;
    await this.pool.connect(
      users.map((user) => ({ token: tokens.get(user)!, deviceId: deviceOf(user) })),
      { concurrency: 8, signal },
    );
    users.forEach((user, i) => this.index.set(user, first + i));
    return tokens;
  }

  /** A request on `user`'s connection; throws when it is refused. */
  async request(user: string, op: string, fields: Record<string, unknown>): Promise<ServerFrame> {
    const reply = await this.pool.request(this.client(user), op, fields);
    if (reply.ok !== true) {
      throw new Error(`${op} refused: ${JSON.stringify(reply.error)}`);
    }
    return reply;
  }

  /** The next frame pushed to `user` that matches; call before what causes it. */
  next(user: string, what: string, match: (frame: ServerFrame) => boolean): Promise<ServerFrame> {
    const client = this.client(user);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${NAME}: ${what} never came`));
      }, STEP_TIMEOUT_MS);
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const waiters = this.waiters.get(client) ?? new Set<Waiter>();
      this.waiters.set(client, waiters);
      waiters.add(waiter);
    });
  }

  /** `user`'s requests to the SFU, relayed as callSfu frames of `callId`. */
  sfuSignalling(user: string, callId: string): SfuSignalling {
    return {
      request: async (_ref, request) => {
        const reply = await this.request(user, 'callSfu', {
          callId,
          method: request.method,
          data: request.data,
        });
        return { data: reply['data'] as Record<string, unknown> };
      },
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private client(user: string): number {
    const index = this.index.get(user);
    if (index === undefined) throw new Error(`${user} is not connected`);
    return index;
  }
}

function deviceOf(user: string): string {
  return `${user}-device`;
}

interface Measured {
  readonly comparison: Comparison;
  readonly tally: Tally;
}

async function measureDirect(
  context: ScenarioContext,
  server: LedgerlineChild,
  calls: CallClients,
  samples: number,
): Promise<Measured> {
  const pairs = Array.from({ length: samples }, (_, i) => ({
    caller: `caller-${i}`,
    callee: `callee-${i}`,
  }));
  context.progress(`${NAME}: 1:1: connecting ${2 * samples} clients, ${samples} conversations`);
  const tokens = await calls.connect(
    pairs.flatMap((p) => [p.caller, p.callee]),
    context.signal,
  );
  const conversations = [];
  for (const pair of pairs) {
    conversations.push(await server.createDirect(tokens.get(pair.caller)!, pair.callee));
  }
  const work = new LedgerlineWorkProbe(server.metricsUrl, server.pid);
  const subject: number[] = [];
  const reference: number[] = [];
  const before = await work.read();
  for (const [i, pair] of pairs.entries()) {
    context.signal.throwIfAborted();
    reference.push(await directReference());
    subject.push(await directThroughServer(calls, pair.caller, pair.callee, conversations[i]!));
  }
  const spent = workBetween(before, await work.read());
  context.progress(
    `${NAME}: 1:1: p50 ${median(subject).toFixed(0)} ms through the server, ` +
      `${median(reference).toFixed(0)} ms direct`,
  );
  return {
    comparison: {
      scenario: NAME,
      variant: '1:1 call: callStart → callee receives RTP',
      batch: 1,
      concurrency: 1,
      subject: summarise('through the server', samples, samples, sum(subject), subject),
      reference: summarise('direct offer/answer', samples, samples, sum(reference), reference),
    },
    tally: {
      scenario: NAME,
      phase: `1:1 call set-ups through the server (start, accept, offer, answer, end)`,
      streams: samples,
      events: samples,
      unit: { per: 1, name: 'set-up' },
      calls: {
        'SQL statements': spent.statements,
        commits: spent.commits,
        'server CPU ms': spent.serverCpuMs,
      },
    },
  };
}

/** The bare handshake: offer, answer, ICE and DTLS between the same two peers, no server. */
async function directReference(): Promise<number> {
  const started = performance.now();
  const caller = new DirectCallPeer();
  const callee = new DirectCallPeer();
  try {
    await caller.accept(await callee.answer(await caller.offer()));
    return (await callee.firstRtp) - started;
  } finally {
    await Promise.all([caller.close(), callee.close()]);
  }
}

/** A 1:1 call as the calls e2e page places and answers it; the call is ended afterwards. */
async function directThroughServer(
  calls: CallClients,
  caller: string,
  callee: string,
  conversationId: string,
): Promise<number> {
  const callerPeer = new DirectCallPeer();
  let calleePeer: DirectCallPeer | undefined;
  const ringing = calls.next(callee, 'the callee rung', (f) => {
    const change = f['change'] as { type?: string } | undefined;
    return f.type === 'call' && change?.type === 'CallStarted';
  });
  const joined = calls.next(caller, 'the callee joined', (f) => {
    const change = f['change'] as { type?: string; userId?: string } | undefined;
    return f.type === 'call' && change?.type === 'ParticipantJoined' && change.userId === callee;
  });
  const offered = calls.next(
    callee,
    'the offer',
    (f) => f.type === 'callSignal' && f['kind'] === 'offer',
  );
  const answered = calls.next(
    caller,
    'the answer',
    (f) => f.type === 'callSignal' && f['kind'] === 'answer',
  );
  // Each is awaited below unless an earlier step fails; then none may reject unhandled.
  for (const waiting of [ringing, joined, offered, answered]) waiting.catch(() => undefined);
  const started = performance.now();
  let callId: string | undefined;
  try {
    const start = await calls.request(caller, 'callStart', {
      conversationId,
      kind: 'direct',
      media: 'audio',
    });
    callId = (start['call'] as { callId: string }).callId;
    const id = callId;
    // Callee: answers the ring, then the offer.
    const calleeSide = (async () => {
      await ringing;
      await calls.request(callee, 'callAccept', { callId: id });
      calleePeer = new DirectCallPeer();
      const offer = await offered;
      const answer = await calleePeer.answer(offer['sdp'] as string);
      await calls.request(callee, 'callSignal', {
        callId: id,
        toUserId: caller,
        toDeviceId: deviceOf(caller),
        kind: 'answer',
        sdp: answer,
      });
      return calleePeer.firstRtp;
    })();
    // Caller: offers once the callee's device is in the call.
    const callerSide = (async () => {
      await joined;
      const offer = await callerPeer.offer();
      await calls.request(caller, 'callSignal', {
        callId: id,
        toUserId: callee,
        toDeviceId: deviceOf(callee),
        kind: 'offer',
        sdp: offer,
      });
      await callerPeer.accept((await answered)['sdp'] as string);
    })();
    const [firstRtp] = await Promise.all([calleeSide, callerSide]);
    return firstRtp - started;
  } finally {
    if (callId !== undefined) await calls.request(caller, 'callEnd', { callId });
    await Promise.all([callerPeer.close(), calleePeer?.close()]);
  }
}

async function measureGroupJoin(
  context: ScenarioContext,
  server: LedgerlineChild,
  calls: CallClients,
  samples: number,
  workerBin: string,
): Promise<Measured> {
  const host = 'group-host';
  const joiners = Array.from({ length: samples }, (_, i) => `joiner-${i}`);
  context.progress(`${NAME}: group join: connecting ${samples + 1} clients`);
  const tokens = await calls.connect([host, ...joiners], context.signal);
  const conversationId = await server.createGroup(tokens.get(host)!, 'bench call', joiners);

  // The server's group call, its host publishing through callSfu.
  const start = await calls.request(host, 'callStart', {
    conversationId,
    kind: 'group',
    media: 'video',
  });
  const callId = (start['call'] as { callId: string }).callId;
  const hostPeer = MediasoupTestPeer.admitted(
    calls.sfuSignalling(host, callId),
    { roomId: callId, participantId: host },
    start['sfu'] as SfuJoinReply,
  );
  // The reference: a mediasoup SfuPort in this process, a room with its host publishing.
  const port = await MediasoupSfu.start({
    workerBin,
    workers: 1,
    listenIp: '127.0.0.1',
    minPort: 40_000,
    maxPort: 49_999,
    connectTimeoutMs: STEP_TIMEOUT_MS,
    logLevel: 'none',
  });
  const roomId = `bench-call-setup-${process.pid}`;
  let refHost: MediasoupTestPeer | undefined;
  try {
    await hostPeer.publish();
    await port.createRoom(roomId, { maxParticipants: 4 });
    refHost = await MediasoupTestPeer.join(port, { roomId, participantId: host });
    const refProducers = await refHost.publish();
    const work = new LedgerlineWorkProbe(server.metricsUrl, server.pid);
    const subject: number[] = [];
    const reference: number[] = [];
    const before = await work.read();
    for (const joiner of joiners) {
      context.signal.throwIfAborted();
      reference.push(
        await joinDirect(port, { roomId, participantId: joiner }, [
          refProducers.audioProducerId,
          refProducers.videoProducerId,
        ]),
      );
      subject.push(await joinThroughServer(calls, joiner, callId));
    }
    const spent = workBetween(before, await work.read());
    context.progress(
      `${NAME}: group join: p50 ${median(subject).toFixed(0)} ms through the server, ` +
        `${median(reference).toFixed(0)} ms on the SfuPort`,
    );
    return {
      comparison: {
        scenario: NAME,
        variant: 'group join (mediasoup): callJoin → audio and video RTP arriving',
        batch: 1,
        concurrency: 1,
        subject: summarise('through the server', samples, samples, sum(subject), subject),
        reference: summarise('SfuPort in-process', samples, samples, sum(reference), reference),
      },
      tally: {
        scenario: NAME,
        phase: 'group joins through the server (join, connect, consume ×2, resume ×2, leave)',
        streams: 1,
        events: samples,
        unit: { per: 1, name: 'set-up' },
        calls: {
          'SQL statements': spent.statements,
          commits: spent.commits,
          'server CPU ms': spent.serverCpuMs,
        },
      },
    };
  } finally {
    await calls.request(host, 'callLeave', { callId }).catch(() => undefined);
    await Promise.all([hostPeer.close(), refHost?.close()]);
    await port.close();
  }
}

/** Joins, connects the receive transport, consumes the host's audio and video until both arrive. */
async function receiveFrom(peer: MediasoupTestPeer, producerIds: readonly string[]): Promise<void> {
  await peer.connectRecv();
  const media: ReceivedMedia[] = [];
  for (const producerId of producerIds) media.push(await peer.consume(producerId));
  await peer.until(
    () => media.every((m) => m.packets > 0),
    `${peer.ref.participantId} receives audio and video`,
    STEP_TIMEOUT_MS,
  );
}

async function joinDirect(
  port: MediasoupSfu,
  ref: SfuParticipantRef,
  producerIds: readonly string[],
): Promise<number> {
  const started = performance.now();
  const peer = await MediasoupTestPeer.join(port, ref);
  try {
    await receiveFrom(peer, producerIds);
    return performance.now() - started;
  } finally {
    await port.leave(ref);
    await peer.close();
  }
}

async function joinThroughServer(
  calls: CallClients,
  joiner: string,
  callId: string,
): Promise<number> {
  const started = performance.now();
  const reply = await calls.request(joiner, 'callJoin', { callId });
  const sfu = reply['sfu'] as SfuJoinReply;
  const peer = MediasoupTestPeer.admitted(
    calls.sfuSignalling(joiner, callId),
    { roomId: callId, participantId: joiner },
    sfu,
  );
  try {
    const producers = (sfu.payload['producers'] as { producerId: string }[]).map(
      (p) => p.producerId,
    );
    await receiveFrom(peer, producers);
    return performance.now() - started;
  } finally {
    await calls.request(joiner, 'callLeave', { callId });
    await peer.close();
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
