import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_TOKEN_ISSUER, type DevTokenIssuer } from '@ledgerline/identity';
import { loadConfig } from '@ledgerline/kernel';
import { clientHeaders, E2E_TEST_TIMEOUT_MS, STARTUP_TIMEOUT_MS } from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';
import { RealtimeTestClient } from './testing/realtime-test-client';

// Drives a booted server: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// Issue 10, item 19: GraphQL and the realtime protocol had the same per-user rate setting but
// counters of their own, so a user speaking both had twice the rate. One budget now, per process.

const TENANT = 'clinic-rate';

describe('the per-user request rate (the whole server in this process, on PGlite)', () => {
  let dataDir: string;
  let server: RunningServer;
  let issuer: DevTokenIssuer;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-shared-rate-e2e-'));
    server = await startServer(
      loadConfig({
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        LEDGERLINE_PORT: '0',
        LEDGERLINE_METRICS_PORT: '0',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_REALTIME_RATE_PER_USER: '3',
      }),
    );
    issuer = server.app.get<DevTokenIssuer>(DEV_TOKEN_ISSUER);
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await server?.shutdown('test over');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const token = async (userId: string) =>
    (await issuer.issue({ tenantId: TENANT, userId, roles: ['user'] })).token;

  /** GraphQL requests until one is refused 429; answers how many were admitted. */
  async function spendOverGraphql(bearer: string): Promise<number> {
    for (let admitted = 0; admitted < 200; admitted++) {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...clientHeaders(bearer) },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      await response.text();
      if (response.status === 429) return admitted;
    }
    throw new Error('GraphQL never refused the user');
  }

  it('what a user spent over GraphQL counts against their realtime requests', async () => {
    const bearer = await token('rita');
    const realtime = await RealtimeTestClient.connect('rita', server.url, { token: bearer });
    const admitted = await spendOverGraphql(bearer);
    expect(admitted).toBeGreaterThan(0);
    const reply = await realtime.request('hello');
    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({ code: 'rate_limited', retryable: true });

    // Another user of the same tenant still has their own budget, on both edges.
    const other = await token('otto');
    const theirs = await RealtimeTestClient.connect('otto', server.url, { token: other });
    expect((await theirs.request('hello')).ok).toBe(true);
    realtime.socket.close();
    theirs.socket.close();
    await Promise.all([realtime.closed, theirs.closed]);
  });
});
