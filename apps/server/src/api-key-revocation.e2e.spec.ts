import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { API_KEY_STORE, type ApiKeyStore } from '@ledgerline/identity';
import { loadConfig } from '@ledgerline/kernel';
import {
  describeWhenEnv,
  openTestDatabase,
  runCli,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';
import { RealtimeTestClient, refusedUpgrade, type Closed } from './testing/realtime-test-client';

// Issue 10, item 10: after `apikeys revoke`, connections opened with the key stayed open and kept
// receiving. Revocation now closes every realtime and graphql-ws connection of the key, on every
// node, with 4403 `Credential revoked`; reconnecting with it is refused.

const TENANT = 'clinic-revoke';
const REVOKED: Closed = { code: 4403, reason: 'Credential revoked' };

/** A graphql-ws socket kept open (not lazy) with the key; resolves how it closed. */
function graphqlSocket(baseUrl: string, key: string): { client: Client; closed: Promise<Closed> } {
  let resolve!: (closed: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolve = r));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
    onNonLazyError: () => undefined,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        resolve({ code: e.code, reason: e.reason });
      },
    },
  });
  return { client, closed };
}

/** Resolves once the graphql-ws socket is acknowledged (authenticated). */
function connected(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
  });
}

async function graphqlStatus(baseUrl: string, key: string): Promise<number> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ me { id } }' }),
  });
  await res.text();
  return res.status;
}

describeWhenEnv(
  'TEST_DATABASE_URL',
  'API key revocation across two server processes and the CLI on one PostgreSQL',
  () => {
    let db: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      db = await openTestDatabase('postgres');
      dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-revoke-'));
      env = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        DATABASE_URL: db.url!,
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
        LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      };
      servers.push(await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-a' }));
      servers.push(await startServerProcess({ ...env, LEDGERLINE_NODE_ID: 'node-b' }));
    }, 180_000);

    afterAll(async () => {
      for (const server of servers) await server.stop();
      await db?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it('closes the key’s realtime and graphql-ws connections on both nodes when the CLI revokes it', async () => {
      const [a, b] = [servers[0]!, servers[1]!];
      const created = runCli(env, 'apikeys', 'create', '--tenant', TENANT, '--name', 'ehr-backend');
      expect(created.code).toBe(0);
      const id = /api key (\S+) for tenant/.exec(created.out)![1]!;
      const key = created.out.trim().split('\n').at(-1)!;
      expect(key).toMatch(/^llk_/);

      const realtimeA = await RealtimeTestClient.hello('backend-a', a.url, { token: key });
      const realtimeB = await RealtimeTestClient.hello('backend-b', b.url, { token: key });
      const graphqlA = graphqlSocket(a.url, key);
      const graphqlB = graphqlSocket(b.url, key);
      await Promise.all([connected(graphqlA.client), connected(graphqlB.client)]);
      // Another key of the tenant is not affected.
      const other = runCli(env, 'apikeys', 'create', '--tenant', TENANT, '--name', 'lab');
      const otherKey = other.out.trim().split('\n').at(-1)!;
      const bystander = await RealtimeTestClient.hello('bystander', b.url, { token: otherKey });

      const revoked = runCli(env, 'apikeys', 'revoke', id);
      expect(revoked.code).toBe(0);
      expect(
        await Promise.all([realtimeA.closed, realtimeB.closed, graphqlA.closed, graphqlB.closed]),
      ).toEqual([REVOKED, REVOKED, REVOKED, REVOKED]);

      expect((await refusedUpgrade(a.url, { token: key })).status).toBe(401);
      expect(await graphqlStatus(b.url, key)).toBe(401);
      expect((await bystander.request('ping', {})).ok).toBe(true);
      await bystander.close();
      await Promise.all([graphqlA.client.dispose(), graphqlB.client.dispose()]);
    });
  },
);

// PGlite is one process's database: the server itself revokes (as the CLI would, on PostgreSQL).
describe('API key revocation in one process on PGlite', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-revoke-pglite-'));
    server = await startServer(
      loadConfig({
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS: '0',
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await server?.shutdown('test over');
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('closes the key’s realtime and graphql-ws connections with 4403 when it is revoked', async () => {
    const store = server.app.get<ApiKeyStore>(API_KEY_STORE);
    const { id, key } = await store.create(TENANT, 'ehr-backend', ['service']);
    const realtime = await RealtimeTestClient.hello('backend', server.url, { token: key });
    const graphql = graphqlSocket(server.url, key);
    await connected(graphql.client);

    await store.revoke(id);
    expect(await Promise.all([realtime.closed, graphql.closed])).toEqual([REVOKED, REVOKED]);
    expect((await refusedUpgrade(server.url, { token: key })).status).toBe(401);
    await graphql.client.dispose();
  });
});
