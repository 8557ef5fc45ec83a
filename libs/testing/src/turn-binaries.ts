import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Where coturn's binaries are, when Debian's `coturn` package is installed. */
export function which(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

export const TURN_BINARIES_MISSING =
  !which('turnutils_uclient') || !which('turnutils_peer') || !which('turnserver')
    ? 'coturn is not installed (scripts/ci/install-turn-peers.sh installs it)'
    : undefined;

/** Registers a suite that needs coturn's binaries; skipped, with the reason in its name, without them. */
export function describeWithTurnBinaries(name: string, fn: () => void): void {
  if (TURN_BINARIES_MISSING) describe.skip(`${name} [skipped: ${TURN_BINARIES_MISSING}]`, fn);
  else describe(name, fn);
}

/** Resolves once a UDP STUN Binding request to host:port is answered (the server is up). */
export async function waitForStun(host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const socket = createSocket('udp4');
  const deadline = Date.now() + timeoutMs;
  let done = false;
  try {
    await new Promise<void>((resolve, reject) => {
      // A STUN Binding request: type 0x0001, length 0, the magic cookie, a transaction id.
      const tid = randomBytes(12);
      const probe = Buffer.concat([Buffer.from('000100002112a442', 'hex'), tid]);
      socket.on('message', (buf) => {
        if (buf.length >= 20 && buf.subarray(8, 20).equals(tid)) {
          done = true;
          resolve();
        }
      });
      socket.on('error', () => undefined);
      const tick = () => {
        if (done) return;
        if (Date.now() > deadline) {
          reject(new Error(`no STUN answer from ${host}:${port}`));
          return;
        }
        socket.send(probe, port, host);
        setTimeout(tick, 100).unref();
      };
      tick();
    });
  } finally {
    socket.close();
  }
}

/** Resolves once the UDP echo peer echoes. */
export async function waitForEcho(host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const socket = createSocket('udp4');
  const deadline = Date.now() + timeoutMs;
  let done = false;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', () => {
        done = true;
        resolve();
      });
      socket.on('error', () => undefined);
      const tick = () => {
        if (done) return;
        if (Date.now() > deadline) {
          reject(new Error(`no echo from ${host}:${port}`));
          return;
        }
        socket.send(Buffer.from('ping'), port, host);
        setTimeout(tick, 100).unref();
      };
      tick();
    });
  } finally {
    socket.close();
  }
}

export interface Running {
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

/** `turnutils_peer`, coturn's UDP echo server, on host:port. */
export async function startEchoPeer(host: string, port: number): Promise<Running> {
  const child = spawn('turnutils_peer', ['-L', host, '-p', String(port)], { stdio: 'ignore' });
  await waitForEcho(host, port);
  return { stop: () => stopChild(child) };
}

export interface CoturnOptions {
  readonly host: string;
  /** An IPv6 address to relay from as well (IPv6 allocations). */
  readonly host6?: string;
  readonly port: number;
  /** Every accepted shared secret (coturn takes `static-auth-secret` more than once). */
  readonly secrets: readonly string[];
  readonly realm: string;
  /** `allowed-peer-ip` / `denied-peer-ip` lines (PeerPolicy.coturnPeerRules()). */
  readonly peerRules: readonly string[];
  readonly userQuota?: number;
  readonly totalQuota?: number;
  /** e.g. `ip=127.0.0.1 port=6379 dbname=0`: turns on coturn's Redis statistics database. */
  readonly redisStatsDb?: string;
  readonly maxAllocateLifetime?: number;
}

/** coturn on loopback with a temporary configuration, for tests and the benchmark. */
export async function startCoturn(options: CoturnOptions): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'ledgerline-coturn-'));
  const lines = [
    `listening-ip=${options.host}`,
    `relay-ip=${options.host}`,
    ...(options.host6 ? [`listening-ip=${options.host6}`, `relay-ip=${options.host6}`] : []),
    // coturn refuses every loopback peer unless told otherwise; the denied-peer-ip lines below then
    // refuse 127.0.0.0/8 again, with the test's allowlisted peer as the one exception.
    'allow-loopback-peers',
    `listening-port=${options.port}`,
    'min-port=50000',
    'max-port=59999',
    'fingerprint',
    'use-auth-secret',
    ...options.secrets.map((s) => `static-auth-secret=${s}`),
    `realm=${options.realm}`,
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    'no-software-attribute',
    `user-quota=${options.userQuota ?? 12}`,
    `total-quota=${options.totalQuota ?? 1200}`,
    `max-allocate-lifetime=${options.maxAllocateLifetime ?? 3600}`,
    `pidfile=${join(dir, 'turnserver.pid')}`,
    'no-stdout-log',
    `log-file=${join(dir, 'turn.log')}`,
    ...(options.redisStatsDb ? [`redis-statsdb="${options.redisStatsDb}"`] : []),
    ...options.peerRules,
  ];
  const config = join(dir, 'turnserver.conf');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawn('turnserver', ['-c', config], { stdio: 'ignore' });
  try {
    await waitForStun(options.host, options.port);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface UclientRun {
  readonly code: number | null;
  readonly output: string;
  readonly sent: number;
  readonly received: number;
}

/**
 * `turnutils_uclient` against a relay: allocates, creates the permission, binds a channel (unless
 * `send`), relays `messages` messages to the echo peer and back, refreshes, and deallocates.
 */
export function runUclient(args: {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The TURN REST API secret (uclient mints `<timestamp>:<user>` itself)… */
  readonly secret?: string;
  /** …or a minted credential's password, `user` being its username. */
  readonly password?: string;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly messages: number;
  readonly length?: number;
  readonly clients?: number;
  readonly tcp?: boolean;
  readonly send?: boolean;
}): Promise<UclientRun> {
  const argv = [
    '-c',
    '-X',
    '-G',
    ...(args.tcp ? ['-t'] : []),
    ...(args.send ? ['-s'] : []),
    '-n',
    String(args.messages),
    '-l',
    String(args.length ?? 100),
    '-m',
    String(args.clients ?? 1),
    '-z',
    '5',
    '-u',
    args.user,
    ...(args.password !== undefined ? ['-w', args.password] : ['-W', args.secret ?? '']),
    '-e',
    args.peerHost,
    '-r',
    String(args.peerPort),
    '-p',
    String(args.port),
    args.host,
  ].filter(Boolean);
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => {
      // The last summary line is the run's total (earlier ones are per-interval).
      const totals = [
        ...output.matchAll(/: start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g),
      ].pop();
      resolve({
        code,
        output,
        sent: totals ? Number(totals[1]) : 0,
        received: totals ? Number(totals[2]) : 0,
      });
    });
  });
}

/** The local Redis coturn's statistics database tests use (127.0.0.1:6379), when it answers. */
export const LOCAL_REDIS_MISSING =
  spawnSync(
    process.execPath,
    [
      '-e',
      "require('net').connect(6379,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
    ],
    { timeout: 5_000 },
  ).status === 0
    ? undefined
    : 'no Redis on 127.0.0.1:6379';
