import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, GraphQLClient } from 'graphql-request';
import { loadConfig } from '@ledgerline/kernel';
import {
  availableDatabases,
  clientHeaders,
  devToken,
  E2E_TEST_TIMEOUT_MS,
  openTestDatabase,
  STARTUP_TIMEOUT_MS,
  type TestDatabase,
} from '@ledgerline/testing';
import { ApnsStandIn, createStandInTls, type StandInTls } from '@ledgerline/push';
import { startServer, type RunningServer } from './bootstrap';

// A member registers a phone over GraphQL; a message to them while they hold no realtime
// connection reaches the APNs stand-in the server is configured with, carrying no text, title or
// file name; a muted
// conversation says so in `conversations` and pushes nothing.

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

const CANARY = 'CANARY-e2e-Mrs-Smith-oncology';
const TENANT = 'clinic-push';

const REGISTER = /* GraphQL */ `
  mutation Register(
    $platform: PushPlatform!
    $environment: PushEnvironment!
    $appId: String!
    $token: String!
  ) {
    registerPushDevice(
      platform: $platform
      environment: $environment
      appId: $appId
      token: $token
    ) {
      deviceId
      platform
      environment
      appId
    }
  }
`;
const DEVICES = /* GraphQL */ `
  query {
    pushDevices {
      deviceId
    }
  }
`;
const UNREGISTER = /* GraphQL */ `
  mutation Unregister($deviceId: ID!) {
    unregisterPushDevice(deviceId: $deviceId)
  }
`;
const MUTE = /* GraphQL */ `
  mutation Mute($conversationId: ID!) {
    muteConversation(conversationId: $conversationId) {
      mutes {
        conversationId
        until
      }
    }
  }
`;
const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;
const SEND = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) {
      messageId
    }
  }
`;
const CONVERSATIONS = /* GraphQL */ `
  query {
    conversations {
      items {
        id
        muted
      }
    }
  }
`;

describe.each(availableDatabases())('push over GraphQL, to an APNs stand-in (%s)', (kind) => {
  let server: RunningServer;
  let apns: ApnsStandIn;
  let tls: StandInTls;
  let db: TestDatabase | undefined;
  let dataDir: string;
  const client = async (userId: string) =>
    new GraphQLClient(`${server.url}/graphql`, {
      headers: clientHeaders(await devToken(server.url, { tenantId: TENANT, userId })),
    });

  /** A small PDF uploaded over tus (one request) into the conversation; its file id. */
  async function uploadPdf(token: string, conversationId: string, name: string): Promise<string> {
    const body = Buffer.from(
      '%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<<>>\nendobj\n',
      'latin1',
    );
    const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
    const headers = { ...clientHeaders(token), 'tus-resumable': '1.0.0' };
    const created = await fetch(`${server.url}/v1/files/uploads`, {
      method: 'POST',
      headers: {
        ...headers,
        'upload-length': String(body.length),
        'upload-metadata': `conversationId ${b64(conversationId)},filename ${b64(name)},filetype ${b64('application/pdf')}`,
      },
    });
    expect(created.status).toBe(201);
    const done = await fetch(new URL(created.headers.get('location')!, server.url), {
      method: 'PATCH',
      headers: {
        ...headers,
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
      },
      body,
    });
    expect(done.status).toBe(204);
    return done.headers.get('ledgerline-file-id')!;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-push-e2e-'));
    tls = createStandInTls();
    const team = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyFile = join(tls.dir, 'AuthKey.p8');
    writeFileSync(keyFile, team.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    apns = await ApnsStandIn.start({
      tls,
      teamPublicKey: team.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      keyId: 'E2EKEY1234',
      teamId: 'E2ETEAM123',
    });
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PUSH_APNS_PROVIDER: 'apns',
      LEDGERLINE_PUSH_APNS_KEY_FILE: keyFile,
      LEDGERLINE_PUSH_APNS_KEY_ID: 'E2EKEY1234',
      LEDGERLINE_PUSH_APNS_TEAM_ID: 'E2ETEAM123',
      LEDGERLINE_PUSH_APNS_ADDRESS: `127.0.0.1:${apns.port}`,
      LEDGERLINE_PUSH_APNS_CA_FILE: tls.caFile,
      LEDGERLINE_PUSH_POLL_MS: '50',
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    server = await startServer(loadConfig(env));
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.shutdown('test done');
    await apns?.stop();
    tls?.dispose();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('registers a device, pushes an offline member once with no text, and shows a mute as `muted`', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const token = randomBytes(32).toString('hex');
    const { registerPushDevice: device } = await bob.request<{
      registerPushDevice: { deviceId: string };
    }>(REGISTER, { platform: 'APNS', environment: 'SANDBOX', appId: 'org.example.ward', token });
    expect(await bob.request(DEVICES)).toEqual({ pushDevices: [{ deviceId: device.deviceId }] });
    expect(await alice.request(DEVICES)).toEqual({ pushDevices: [] });

    const conversationId = randomUUID();
    await alice.request(CREATE_GROUP, {
      input: {
        conversationId,
        title: `${CANARY} title`,
        members: [{ id: 'bob', kind: 'USER', role: 'MEMBER' }],
      },
    });
    // The message carries a file whose name is the canary too (uploaded over tus as alice).
    const aliceToken = await devToken(server.url, { tenantId: TENANT, userId: 'alice' });
    const fileId = await uploadPdf(aliceToken, conversationId, `${CANARY} scan.pdf`);
    await alice.request(SEND, {
      input: {
        conversationId,
        clientMessageId: randomUUID(),
        text: `${CANARY} text`,
        attachmentIds: [fileId],
      },
    });
    const [push] = await apns.received.until(
      (items) => items.some((r) => r.token === token),
      60_000,
      'push to bob',
    );
    expect(push!.status).toBe(200);
    expect(JSON.stringify(apns.received.items)).not.toContain(CANARY);
    expect(JSON.parse(push!.body)).toMatchObject({
      ll: { kind: 'message', conversationId, count: 1 },
    });

    // `muted` is real: false, then true once bob mutes; and nothing more is pushed to him.
    const before = await bob.request<{
      conversations: { items: { id: string; muted: boolean }[] };
    }>(CONVERSATIONS);
    expect(before.conversations.items.find((c) => c.id === conversationId)?.muted).toBe(false);
    await bob.request(MUTE, { conversationId });
    const after = await bob.request<{ conversations: { items: { id: string; muted: boolean }[] } }>(
      CONVERSATIONS,
    );
    expect(after.conversations.items.find((c) => c.id === conversationId)?.muted).toBe(true);
    const alicesView = await alice.request<{
      conversations: { items: { id: string; muted: boolean }[] };
    }>(CONVERSATIONS);
    expect(alicesView.conversations.items.find((c) => c.id === conversationId)?.muted).toBe(false);
  });

  it('answers BAD_USER_INPUT for a token of the wrong shape, NOT_FOUND for another user’s device', async () => {
    const bob = await client('bob');
    const mallory = await client('mallory');
    const error = await bob
      .request<unknown>(REGISTER, {
        platform: 'APNS',
        environment: 'SANDBOX',
        appId: 'org.example.ward',
        token: 'zz'.repeat(32),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).response.errors?.[0]?.extensions?.['code']).toBe(
      'BAD_USER_INPUT',
    );
    expect(JSON.stringify((error as ClientError).response)).not.toContain('zz'.repeat(32));

    const token = randomBytes(32).toString('hex');
    const { registerPushDevice: device } = await bob.request<{
      registerPushDevice: { deviceId: string };
    }>(REGISTER, { platform: 'APNS', environment: 'SANDBOX', appId: 'org.example.ward', token });
    const denied = await mallory
      .request<unknown>(UNREGISTER, { deviceId: device.deviceId })
      .catch((e: unknown) => e);
    expect((denied as ClientError).response.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const devices = await bob.request<{ pushDevices: { deviceId: string }[] }>(DEVICES);
    expect(devices.pushDevices.map((d) => d.deviceId)).toContain(device.deviceId);
  });
});
