import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

// The compiled server run as its own process, the way `npm start` runs it, for e2e specs. Only
// paths under dist/ are used: this lib never imports from apps/.

/** The compiled server (`npm test` builds first). */
export const SERVER_MAIN = resolve(__dirname, '../../../dist/apps/server/src/main.js');

/** Throws, naming the fix, when `main` has not been built. */
export function assertBuilt(main: string): void {
  if (!existsSync(main)) {
    throw new Error(`${main} is missing: run \`npm run build\` (npm test does it first)`);
  }
}

/** A server process, started or not yet listening, with everything it printed. */
export interface LaunchedServer {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far, interleaved as it came. */
  readonly output: () => string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) if the process still runs, and resolves once it exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** A server process that said where it listens. */
export interface ServerProcess extends LaunchedServer {
  readonly url: string;
}

/** Children still running, killed if this process exits first (a failed hook, a crash). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Spawns the compiled server with only PATH, `LEDGERLINE_PORT=0` and `LEDGERLINE_METRICS_PORT=0`
 * (free ports, so servers started side by side never collide) and `env`, and returns at once: for
 * a process expected to exit, await `exited`.
 */
export function launchServerProcess(env: Record<string, string>): LaunchedServer {
  assertBuilt(SERVER_MAIN);
  const child = spawn(process.execPath, [SERVER_MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      running.delete(child);
      r(code);
    }),
  );
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return { child, output: () => out, exited, stop };
}

/**
 * Resolves once `server` printed its `"url":"http://…"` line (checked on every chunk it writes);
 * throws with its output when it exits first. There is no start-up budget: a busy machine starts
 * it late, not never. `backstopMs` only ends a server that hangs (killed, its output thrown), and
 * is longer than any hook's timeout; the caller's hook timeout is what bounds the wait.
 */
export function serverListening(
  server: LaunchedServer,
  backstopMs = 300_000,
): Promise<ServerProcess> {
  const { child } = server;
  return new Promise<ServerProcess>((resolve, reject) => {
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(server.output());
      if (m) done(() => resolve({ ...server, url: m[1]! }));
    };
    const onExit = () => {
      check();
      done(() => reject(new Error(`server exited early:\n${server.output()}`)));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(() => reject(new Error(`server did not start:\n${server.output()}`)));
    }, backstopMs);
    let settled = false;
    const done = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('close', onExit);
      settle();
    };
    // Listeners added after launchServerProcess's own, so `output()` already holds the chunk.
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('close', onExit);
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else check();
  });
}

/** Launches the compiled server with `env` (see launchServerProcess); resolves once it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  return serverListening(launchServerProcess(env));
}

/** Who a development token is for; `roles` is left to the server's default when omitted. */
export interface DevTokenFor {
  readonly tenantId: string;
  readonly userId: string;
  readonly roles?: readonly string[];
}

/**
 * A development token from the server's own `/dev/token` issuer (each process has its own);
 * throws unless the server answers 200.
 */
export async function devToken(url: string, who: DevTokenFor): Promise<string> {
  const res = await fetch(`${url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** Headers a client app sends besides its bearer token. */
export interface ClientHeaders {
  readonly userAgent?: string;
  /** Sent as `x-ledgerline-device-id`. */
  readonly deviceId?: string;
}

/**
 * The headers of a client app's request: its bearer token, and `user-agent` and
 * `x-ledgerline-device-id` when given. For a GraphQLClient, a graphql-ws `connectionParams` or fetch.
 */
export function clientHeaders(bearer: string, headers: ClientHeaders = {}): Record<string, string> {
  return {
    authorization: `Bearer ${bearer}`,
    ...(headers.userAgent === undefined ? {} : { 'user-agent': headers.userAgent }),
    ...(headers.deviceId === undefined ? {} : { 'x-ledgerline-device-id': headers.deviceId }),
  };
}

/** Runs a GraphQL operation over plain HTTP; throws on errors. */
export async function graphqlRequest<T>(
  url: string,
  bearer: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...clientHeaders(bearer) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`graphql: ${JSON.stringify(body.errors)}`);
  return body.data!;
}
