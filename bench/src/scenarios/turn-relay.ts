import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PeerPolicy,
  StunAttr,
  StunClass,
  StunMethod,
  decodeChannelData,
  decodeStun,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  longTermKey,
  mintTurnCredential,
  type StunMessage,
} from '@ledgerline/turn';
import type { Comparison, ConnectionMemory, ServerMemory, Stats } from '../report';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'turn relay';
const SECRET = 'bench-turn-secret-0123456789';
const PEER_HOST = '127.0.0.2';
const CLIENTS = 8;
/** Packets each client keeps in flight through the relay. */
const WINDOW = 8;
const PAYLOAD = 160; // an Opus frame's order of size
const MEMORY_ALLOCATIONS = 200;

/**
 * Relayed packets per second and per CPU-second of the relay's own process, the built-in relay
 * (subject) against coturn (reference) in the same run, both on loopback with the same clients:
 * CLIENTS allocations, each bound to a channel to a UDP echo peer, each keeping WINDOW ChannelData
 * packets in flight. Every round trip is two relayed packets (to the peer and back). Then memory:
 * each relay's RSS before and after MEMORY_ALLOCATIONS more allocations. Skipped without coturn.
 */
export const turnRelay: Scenario = {
  name: NAME,
  summary:
    `relayed packets/s and packets per CPU-second of the relay process (${CLIENTS} allocations, ` +
    `${WINDOW} packets of ${PAYLOAD} B in flight each, channels, loopback): built-in relay vs ` +
    `coturn; memory (RSS) per allocation over ${MEMORY_ALLOCATIONS} allocations`,
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (spawnSync('sh', ['-c', 'command -v turnserver']).status !== 0) {
      context.progress(
        `${NAME}: skipped, coturn is not installed (scripts/ci/install-turn-peers.sh)`,
      );
      return { comparisons: [], tallies: [] };
    }
    const seconds = 5 * context.scale;
    const echo = await startEcho();
    const results: Record<'builtIn' | 'coturn', { rate: Stats; cpu: Stats; memory: ServerMemory }> =
      {} as never;
    try {
      for (const which of ['builtIn', 'coturn'] as const) {
        context.progress(
          `${NAME}: ${which === 'builtIn' ? 'built-in relay' : 'coturn'}, ${seconds} s`,
        );
        let relay: RelayProcess;
        try {
          relay = which === 'builtIn' ? await startBuiltIn() : await startCoturnRelay();
        } catch (error) {
          // A relay that does not come up skips this scenario; the rest of the bench goes on.
          context.progress(
            `${NAME}: skipped, ${error instanceof Error ? error.message : 'a relay did not start'}`,
          );
          return { comparisons: [], tallies: [] };
        }
        try {
          const label = which === 'builtIn' ? 'built-in relay' : 'coturn';
          const measured = await measureThroughput(
            relay.port,
            echo.port,
            seconds,
            relay.pid,
            context.signal,
          );
          const memory = await measureMemory(relay.port, echo.port, relay.pid, label);
          results[which] = {
            rate: stats(label, measured.packets, measured.seconds, measured.rttMs),
            cpu: stats(
              `${label} (per CPU-s)`,
              measured.packets,
              measured.cpuSeconds,
              measured.rttMs,
            ),
            memory,
          };
        } finally {
          await relay.stop();
        }
      }
    } finally {
      echo.socket.close();
    }
    const comparisons: Comparison[] = [
      {
        scenario: NAME,
        variant: 'packets per second',
        batch: 1,
        concurrency: CLIENTS * WINDOW,
        subject: results.builtIn.rate,
        reference: results.coturn.rate,
      },
      {
        scenario: NAME,
        variant: 'packets per CPU-second of the relay',
        batch: 1,
        concurrency: CLIENTS * WINDOW,
        subject: results.builtIn.cpu,
        reference: results.coturn.cpu,
      },
    ];
    const connectionMemory: ConnectionMemory[] = [
      {
        scenario: NAME,
        variant: `RSS per allocation (${MEMORY_ALLOCATIONS} allocations)`,
        subject: results.builtIn.memory,
        reference: results.coturn.memory,
      },
    ];
    return { comparisons, tallies: [], connectionMemory };
  },
};

function stats(label: string, packets: number, seconds: number, rttMs: number[]): Stats {
  const sorted = [...rttMs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    label,
    ops: packets,
    events: packets,
    seconds,
    eventsPerSecond: seconds > 0 ? packets / seconds : 0,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

interface RelayProcess {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

async function startBuiltIn(): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [join(__dirname, 'turn-relay-process.js'), SECRET, `${PEER_HOST}/32`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error('the built-in relay exited')));
  });
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

async function startCoturnRelay(): Promise<RelayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ledgerline-bench-coturn-'));
  const port = 36_000 + (process.pid % 1_000) * 2;
  const config = join(dir, 'turnserver.conf');
  writeFileSync(
    config,
    [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `listening-port=${port}`,
      'min-port=52000',
      'max-port=53999',
      'use-auth-secret',
      `static-auth-secret=${SECRET}`,
      'realm=bench',
      'no-tls',
      'no-dtls',
      'no-cli',
      'allow-loopback-peers',
      'user-quota=10000',
      'total-quota=10000',
      'no-stdout-log',
      `log-file=${join(dir, 'turn.log')}`,
      `pidfile=${join(dir, 'turn.pid')}`,
      ...new PeerPolicy([`${PEER_HOST}/32`]).coturnPeerRules(),
    ].join('\n'),
  );
  const child = spawn('turnserver', ['-c', config], { stdio: 'ignore' });
  try {
    await waitForBinding(port);
  } catch (error) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForBinding(port: number): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      const tid = randomBytes(12);
      const deadline = Date.now() + 20_000;
      let done = false;
      socket.on('message', () => {
        done = true;
        resolve();
      });
      const tick = () => {
        if (done) return;
        if (Date.now() > deadline) return reject(new Error('coturn did not start'));
        socket.send(
          encodeStun({
            method: StunMethod.binding,
            cls: StunClass.request,
            transactionId: tid,
            attributes: [],
          }),
          port,
          '127.0.0.1',
        );
        setTimeout(tick, 100);
      };
      tick();
    });
  } finally {
    socket.close();
  }
}

/** A UDP echo peer on the allowlisted loopback address. */
async function startEcho(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (data, rinfo) => socket.send(data, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, PEER_HOST, () => resolve()));
  return { socket, port: socket.address().port };
}

/** CPU seconds (user + system) a process used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** One client: an allocation with a channel to the echo peer. */
class BenchClient {
  readonly socket = createSocket('udp4');
  private pending = new Map<string, (m: StunMessage) => void>();
  onChannelData?: (data: Buffer) => void;

  constructor(
    private readonly port: number,
    private readonly userId: string,
  ) {
    this.socket.on('message', (buf) => {
      if ((buf[0]! & 0xc0) !== 0) {
        const frame = decodeChannelData(buf);
        if (frame) this.onChannelData?.(frame.data);
        return;
      }
      const m = decodeStun(buf);
      if (m) this.pending.get(m.transactionId.toString('hex'))?.(m);
    });
  }

  async open(peerPort: number, channel: number): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    const c = mintTurnCredential({
      secret: SECRET,
      tenantId: 'bench',
      userId: this.userId,
      now: new Date(),
      ttlSeconds: 600,
    });
    const challenge = await this.request(StunMethod.allocate, () => [
      [StunAttr.requestedTransport, Buffer.from([17, 0, 0, 0])],
    ]);
    const realm = challenge.attributes.find((a) => a.type === StunAttr.realm)!.value;
    const nonce = challenge.attributes.find((a) => a.type === StunAttr.nonce)!.value;
    const key = longTermKey(c.username, realm.toString('utf8'), c.password);
    const auth = (): [number, Buffer][] => [
      [StunAttr.username, Buffer.from(c.username)],
      [StunAttr.realm, realm],
      [StunAttr.nonce, nonce],
    ];
    const allocated = await this.request(
      StunMethod.allocate,
      () => [[StunAttr.requestedTransport, Buffer.from([17, 0, 0, 0])], ...auth()],
      key,
    );
    if (allocated.cls !== StunClass.success) throw new Error('allocation refused');
    const bound = await this.request(
      StunMethod.channelBind,
      (tid) => [
        [StunAttr.channelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0])],
        [StunAttr.xorPeerAddress, encodeXorAddress({ address: PEER_HOST, port: peerPort }, tid)],
        ...auth(),
      ],
      key,
    );
    if (bound.cls !== StunClass.success) throw new Error('channel bind refused');
  }

  private request(
    method: number,
    attrs: (tid: Buffer) => [number, Buffer][],
    key?: Buffer,
  ): Promise<StunMessage> {
    const tid = randomBytes(12);
    const out = encodeStun({
      method,
      cls: StunClass.request,
      transactionId: tid,
      attributes: attrs(tid),
      ...(key ? { integrityKey: key } : {}),
    });
    return new Promise((resolve, reject) => {
      let tries = 0;
      const send = () => {
        if (tries++ > 6) return reject(new Error('no answer from the relay'));
        this.socket.send(out, this.port, '127.0.0.1');
        timer = setTimeout(send, 500);
      };
      let timer: NodeJS.Timeout | undefined;
      this.pending.set(tid.toString('hex'), (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      send();
    });
  }
}

async function measureThroughput(
  port: number,
  peerPort: number,
  seconds: number,
  pid: number,
  signal: AbortSignal,
): Promise<{ packets: number; seconds: number; cpuSeconds: number; rttMs: number[] }> {
  const clients = Array.from(
    { length: CLIENTS },
    (_, i) => new BenchClient(port, `tp-${i}-${process.pid}`),
  );
  await Promise.all(clients.map((c, i) => c.open(peerPort, 0x4000 + i)));
  const payload = Buffer.alloc(PAYLOAD, 7);
  let roundTrips = 0;
  const rttMs: number[] = [];
  let running = true;
  const started = process.hrtime.bigint();
  const cpuBefore = cpuSeconds(pid);
  await new Promise<void>((resolve) => {
    clients.forEach((client, i) => {
      const frame = (): Buffer => {
        const body = Buffer.from(payload);
        body.writeBigUInt64BE(process.hrtime.bigint(), 0);
        return encodeChannelData(0x4000 + i, body, false);
      };
      client.onChannelData = (data) => {
        roundTrips++;
        if (roundTrips % 64 === 0)
          rttMs.push(Number(process.hrtime.bigint() - data.readBigUInt64BE(0)) / 1e6);
        if (running) client.socket.send(frame(), port, '127.0.0.1');
      };
      for (let w = 0; w < WINDOW; w++) client.socket.send(frame(), port, '127.0.0.1');
    });
    const stop = () => {
      running = false;
      resolve();
    };
    setTimeout(stop, seconds * 1000);
    signal.addEventListener('abort', stop, { once: true });
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(pid) - cpuBefore;
  for (const c of clients) c.socket.close();
  return { packets: roundTrips * 2, seconds: elapsed, cpuSeconds: cpu, rttMs };
}

async function measureMemory(
  port: number,
  peerPort: number,
  pid: number,
  label: string,
): Promise<ServerMemory> {
  const before = rssBytes(pid);
  const clients = Array.from(
    { length: MEMORY_ALLOCATIONS },
    (_, i) => new BenchClient(port, `mem-${i}-${process.pid}`),
  );
  for (let i = 0; i < clients.length; i += 20) {
    await Promise.all(clients.slice(i, i + 20).map((c) => c.open(peerPort, 0x4000)));
  }
  const after = rssBytes(pid);
  for (const c of clients) c.socket.close();
  return {
    label,
    connections: MEMORY_ALLOCATIONS,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    // A child process's heap is not visible from here: RSS stands for both.
    heapBeforeBytes: before,
    heapAfterBytes: after,
  };
}
