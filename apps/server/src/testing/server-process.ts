import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** The compiled server, as `npm start` runs it (`npm test` builds first). */
export const SERVER_MAIN = resolve(__dirname, '../../../../dist/apps/server/src/main.js');

/** A server process started for a test, with everything it printed. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Where it listens, once it said so. */
  readonly url: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `dist/apps/server/src/main.js` with `env` on a free port; resolves once it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_MAIN], {
    env: { PATH: process.env['PATH'] ?? '', LEDGERLINE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (m) return { child, output: () => out, exited, url: m[1]! };
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${out}`);
}

/** A development token from the server's own issuer (each process has its own). */
export async function devToken(url: string, tenantId: string, userId: string): Promise<string> {
  const res = await fetch(`${url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId, userId }),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** Runs a GraphQL operation over HTTP; throws on errors. */
export async function graphqlRequest<T>(
  url: string,
  bearer: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`graphql: ${JSON.stringify(body.errors)}`);
  return body.data!;
}
