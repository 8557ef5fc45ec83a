import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphQLClient } from 'graphql-request';
import {
  availableDatabases,
  clientHeaders,
  devToken,
  E2E_TEST_TIMEOUT_MS,
  openTestDatabase,
  STARTUP_TIMEOUT_MS,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
} from '@ledgerline/testing';
import { ApnsStandIn, createStandInTls, type StandInTls } from '@ledgerline/push';

// The compiled server is SIGKILLed while pushes are in flight to APNs (the stand-in holds them
// unanswered) and others wait in the outbox. Started again on the same database, it sends every
// one of them exactly once: each member's device gets pushes whose counts add up to the messages
// sent, and no idempotency key (apns-id) is answered twice.

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const TENANT = 'clinic-push-crash';
const MEMBERS = Array.from({ length: 12 }, (_, i) => `nurse-${i}`);
const MESSAGES = 3;

describe.each(availableDatabases())('push outbox across a SIGKILL (%s)', (kind) => {
  let apns: ApnsStandIn;
  let tls: StandInTls;
  let db: TestDatabase | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-push-crash-'));
    tls = createStandInTls();
    const team = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyFile = join(tls.dir, 'AuthKey.p8');
    writeFileSync(keyFile, team.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    apns = await ApnsStandIn.start({
      tls,
      teamPublicKey: team.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      keyId: 'CRASHKEY12',
      teamId: 'CRASHTEAM1',
    });
    env = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PUSH_APNS_PROVIDER: 'apns',
      LEDGERLINE_PUSH_APNS_KEY_FILE: keyFile,
      LEDGERLINE_PUSH_APNS_KEY_ID: 'CRASHKEY12',
      LEDGERLINE_PUSH_APNS_TEAM_ID: 'CRASHTEAM1',
      LEDGERLINE_PUSH_APNS_ADDRESS: `127.0.0.1:${apns.port}`,
      LEDGERLINE_PUSH_APNS_CA_FILE: tls.caFile,
      LEDGERLINE_PUSH_POLL_MS: '50',
      // Held requests time out after this (and are retried); a dead process's leases end 3× after.
      LEDGERLINE_PUSH_TIMEOUT_MS: '5000',
      LEDGERLINE_PUSH_BATCH: '4',
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await apns?.stop();
    tls?.dispose();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('loses no push and sends none twice', async () => {
    server = await startServerProcess(env);
    const client = async (userId: string) =>
      new GraphQLClient(`${server!.url}/graphql`, {
        headers: clientHeaders(await devToken(server!.url, { tenantId: TENANT, userId })),
      });
    const tokens = new Map<string, string>();
    for (const member of MEMBERS) {
      const token = randomBytes(32).toString('hex');
      tokens.set(member, token);
      await (
        await client(member)
      ).request(
        /* GraphQL */ `
          mutation ($token: String!) {
            registerPushDevice(
              platform: APNS
              environment: SANDBOX
              appId: "org.example.ward"
              token: $token
            ) {
              deviceId
            }
          }
        `,
        { token },
      );
    }
    const alice = await client('alice');
    const conversationId = randomUUID();
    await alice.request(
      /* GraphQL */ `
        mutation ($input: CreateGroupConversationInput!) {
          createGroupConversation(input: $input) {
            conversationId
          }
        }
      `,
      {
        input: {
          conversationId,
          title: 'Ward 3',
          members: MEMBERS.map((id) => ({ id, kind: 'USER', role: 'MEMBER' })),
        },
      },
    );
    apns.hold();
    for (let i = 0; i < MESSAGES; i++) {
      await alice.request(
        /* GraphQL */ `
          mutation ($input: SendMessageInput!) {
            sendMessage(input: $input) {
              messageId
            }
          }
        `,
        { input: { conversationId, clientMessageId: randomUUID(), text: `round ${i}` } },
      );
    }
    // Pushes are in flight (held by APNs) and more wait in the outbox: kill the server now.
    await apns.held.until((items) => items.length >= 4, 60_000, 'pushes in flight');
    expect(await server.stop('SIGKILL')).toBeNull();
    const heldAtKill = apns.held.items.length;
    apns.release();

    server = await startServerProcess(env);
    const delivered = (token: string) =>
      apns.received.items
        .filter((r) => r.token === token && r.status === 200)
        .reduce((sum, r) => sum + (JSON.parse(r.body) as { ll: { count: number } }).ll.count, 0);
    await apns.received.until(
      () => [...tokens.values()].every((t) => delivered(t) >= MESSAGES),
      E2E_TEST_TIMEOUT_MS - 60_000,
      'every push after the restart',
    );
    // None lost: every device's pushes cover every message; none twice: no more than that, and
    // no idempotency key answered twice.
    for (const token of tokens.values()) expect(delivered(token)).toBe(MESSAGES);
    const keys = apns.received.items
      .filter((r) => r.status === 200)
      .map((r) => r.headers['apns-id']);
    expect(new Set(keys).size).toBe(keys.length);
    expect(heldAtKill).toBeGreaterThanOrEqual(4);
    await server.stop();
    server = undefined;
  });
});
