import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '@ledgerline/kernel';
import {
  Arrivals,
  availableDatabases,
  probeUntilLive,
  clientHeaders,
  devToken,
  openTestDatabase,
  E2E_TEST_TIMEOUT_MS,
  STARTUP_TIMEOUT_MS,
  type TestDatabase,
} from '@ledgerline/testing';
import { startServer, type RunningServer } from './bootstrap';
import { RealtimeTestClient } from './testing/realtime-test-client';

jest.setTimeout(E2E_TEST_TIMEOUT_MS);

// The calls API as clients use it, on a booted server with no SFU: GraphQL mutations and the
// `callEvents` subscription over graphql-ws (a signal reaches the subscribed device), and the
// realtime protocol's refusals on the wire.

const TENANT = 'clinic-calls-api';
const CREATE = /* GraphQL */ `
  mutation Create($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;
const START = /* GraphQL */ `
  mutation Start($conversationId: ID!, $kind: String!, $deviceId: String) {
    startCall(conversationId: $conversationId, kind: $kind, media: "video", deviceId: $deviceId) {
      call {
        callId
        status
        ringing
      }
      iceServers {
        urls
        username
      }
      iceServersExpireAt
      sfuEngine
    }
  }
`;
const ACCEPT = /* GraphQL */ `
  mutation Accept($callId: ID!, $deviceId: String) {
    acceptCall(callId: $callId, deviceId: $deviceId) {
      call {
        status
        devices {
          userId
          deviceId
        }
      }
      iceServers {
        urls
      }
    }
  }
`;
const SIGNAL = /* GraphQL */ `
  mutation Signal(
    $callId: ID!
    $deviceId: String
    $toUserId: ID!
    $toDeviceId: String!
    $sdp: String
  ) {
    sendCallSignal(
      callId: $callId
      deviceId: $deviceId
      toUserId: $toUserId
      toDeviceId: $toDeviceId
      kind: "offer"
      sdp: $sdp
    )
  }
`;
const CANCEL = /* GraphQL */ `
  mutation Cancel($callId: ID!) {
    cancelCall(callId: $callId) {
      status
    }
  }
`;
const END = /* GraphQL */ `
  mutation End($callId: ID!) {
    endCall(callId: $callId) {
      status
    }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription Events($deviceId: String) {
    callEvents(deviceId: $deviceId) {
      type
      change
      callId
      call {
        status
      }
      fromUserId
      fromDeviceId
      signalKind
      sdp
    }
  }
`;

interface CallEventBody {
  type: 'call' | 'signal';
  change: string | null;
  callId: string | null;
  call: { status: string } | null;
  fromUserId: string | null;
  fromDeviceId: string | null;
  signalKind: string | null;
  sdp: string | null;
}

describe.each(availableDatabases())('calls API on a booted server (%s)', (kind) => {
  let dataDir: string;
  let db: TestDatabase | undefined;
  let server: RunningServer;
  const subscriptions: Client[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-calls-api-'));
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_TURN_SECRETS: 'e2e-calls-api-secret-0123456789',
      LEDGERLINE_CALL_MAX_SDP_BYTES: '2048',
      // This server runs no SFU (group calls through the engines: calls-group-browser.e2e).
      LEDGERLINE_SFU_ENGINE: 'none',
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    server = await startServer(loadConfig(env));
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const s of subscriptions) await s.dispose();
    await server?.shutdown('test done');
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, STARTUP_TIMEOUT_MS);

  const gqlFor = async (userId: string, tenantId = TENANT) => {
    const token = await devToken(server.url, { tenantId, userId });
    return {
      token,
      gql: new GraphQLClient(`${server.url}/graphql`, { headers: clientHeaders(token) }),
    };
  };

  async function errorOf(promise: Promise<unknown>): Promise<Record<string, unknown> | undefined> {
    const outcome = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(outcome instanceof ClientError)) throw new Error('expected a GraphQL error');
    return outcome.response.errors?.[0]?.extensions;
  }

  it('GraphQL: start, ring through callEvents, accept, a signal to the subscribed device, end; group calls refused without an SFU', async () => {
    const alice = await gqlFor(`alice-${kind}`);
    const bob = await gqlFor(`bob-${kind}`);
    const { createGroupConversation } = await alice.gql.request<{
      createGroupConversation: { conversationId: string };
    }>(CREATE, { input: { title: 'Visit', members: [{ id: `bob-${kind}` }] } });
    const conversationId = createGroupConversation.conversationId;

    const arrivals = new Arrivals<CallEventBody>();
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${bob.token}` },
    });
    subscriptions.push(client);
    client.subscribe<{ callEvents: CallEventBody }>(
      { query: EVENTS, variables: { deviceId: 'bob-phone' } },
      {
        next: (result) => {
          for (const error of result.errors ?? []) arrivals.fail(error);
          if (result.data) arrivals.push(result.data.callEvents);
        },
        error: (error) => arrivals.fail(error),
        complete: () => undefined,
      },
    );
    // graphql-ws has no "subscribed" reply: probe with calls in a conversation of their own
    // (started and cancelled) until one reaches the subscription.
    const probes = await alice.gql.request<{ createGroupConversation: { conversationId: string } }>(
      CREATE,
      { input: { title: 'Probe', members: [{ id: `bob-${kind}` }] } },
    );
    await probeUntilLive(
      async () => {
        const probe = await alice.gql.request<{ startCall: { call: { callId: string } } }>(START, {
          conversationId: probes.createGroupConversation.conversationId,
          kind: 'direct',
          deviceId: 'alice-laptop',
        });
        await alice.gql.request(CANCEL, { callId: probe.startCall.call.callId });
      },
      arrivals.next((e) => e.type === 'call' && e.change === 'CallStarted', 'probe'),
      'callEvents',
    );
    const started = await alice.gql.request<{
      startCall: {
        call: { callId: string; status: string; ringing: string[] };
        iceServers: { urls: string[]; username: string | null }[];
        sfuEngine: string | null;
      };
    }>(START, { conversationId, kind: 'direct', deviceId: 'alice-laptop' });
    const callId = started.startCall.call.callId;
    expect(started.startCall.call).toMatchObject({ status: 'ringing', ringing: [`bob-${kind}`] });
    expect(
      started.startCall.iceServers.some((s) => s.username?.includes(`:${TENANT}:alice-${kind}`)),
    ).toBe(true);
    expect(started.startCall.sfuEngine).toBeNull();
    await arrivals.next(
      (e) => e.type === 'call' && e.change === 'CallStarted' && e.callId === callId,
      'ringing',
    );

    const accepted = await bob.gql.request<{ acceptCall: { call: { status: string } } }>(ACCEPT, {
      callId,
      deviceId: 'bob-phone',
    });
    expect(accepted.acceptCall.call.status).toBe('active');
    const sdp = 'v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n';
    await alice.gql.request(SIGNAL, {
      callId,
      deviceId: 'alice-laptop',
      toUserId: `bob-${kind}`,
      toDeviceId: 'bob-phone',
      sdp,
    });
    const signal = await arrivals.next((e) => e.type === 'signal', 'the offer');
    expect(signal).toMatchObject({
      callId,
      fromUserId: `alice-${kind}`,
      fromDeviceId: 'alice-laptop',
      signalKind: 'offer',
      sdp,
    });

    // Too big an SDP; a signal to a device not in the call.
    expect(
      await errorOf(
        alice.gql.request(SIGNAL, {
          callId,
          deviceId: 'alice-laptop',
          toUserId: `bob-${kind}`,
          toDeviceId: 'bob-phone',
          sdp: 'x'.repeat(3_000),
        }),
      ),
    ).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(
      await errorOf(
        alice.gql.request(SIGNAL, {
          callId,
          deviceId: 'alice-laptop',
          toUserId: `bob-${kind}`,
          toDeviceId: 'bob-tablet',
          sdp,
        }),
      ),
    ).toMatchObject({ reason: 'target_not_in_call' });

    const ended = await alice.gql.request<{ endCall: { status: string } }>(END, { callId });
    expect(ended.endCall.status).toBe('ended');
    await arrivals.next((e) => e.type === 'call' && e.change === 'CallEnded', 'ended');

    // No SFU in this server: a group call is refused, typed and retryable.
    const carolId = `carol-${kind}`;
    const group = await alice.gql.request<{ createGroupConversation: { conversationId: string } }>(
      CREATE,
      {
        input: { title: 'Care team', members: [{ id: `bob-${kind}` }, { id: carolId }] },
      },
    );
    expect(
      await errorOf(
        alice.gql.request(START, {
          conversationId: group.createGroupConversation.conversationId,
          kind: 'group',
          deviceId: 'alice-laptop',
        }),
      ),
    ).toMatchObject({ reason: 'sfu_unavailable' });
  });

  it('realtime: calls need a device; signals to another tenant or oversized are refused on the wire', async () => {
    const aliceId = `ada-${kind}`;
    const bobId = `ben-${kind}`;
    const alice = await gqlFor(aliceId);
    const { createGroupConversation } = await alice.gql.request<{
      createGroupConversation: { conversationId: string };
    }>(CREATE, { input: { title: 'Visit', members: [{ id: bobId }] } });
    const conversationId = createGroupConversation.conversationId;

    const noDevice = await RealtimeTestClient.hello('no-device', server.url, {
      token: alice.token,
    });
    const refused = await noDevice.request('callStart', {
      conversationId,
      kind: 'direct',
      media: 'audio',
    });
    expect(refused.error).toMatchObject({ code: 'invalid_state', reason: 'device_required' });
    noDevice.socket.close();

    const a = await RealtimeTestClient.hello('ada', server.url, {
      token: alice.token,
      deviceId: 'ada-1',
    });
    const b = await RealtimeTestClient.hello('ben', server.url, {
      token: await devToken(server.url, { tenantId: TENANT, userId: bobId }),
      deviceId: 'ben-1',
    });
    const start = await a.request('callStart', { conversationId, kind: 'direct', media: 'audio' });
    expect(start.ok).toBe(true);
    const callId = (start['call'] as { callId: string }).callId;
    expect(start['iceServers']).toEqual(
      expect.arrayContaining([expect.objectContaining({ urls: expect.any(Array) as unknown })]),
    );
    await b.waitFor(
      (f) => f.type === 'call' && (f['change'] as { type: string }).type === 'CallStarted',
    );
    expect((await b.request('callAccept', { callId })).ok).toBe(true);

    const big = await a.request('callSignal', {
      callId,
      toUserId: bobId,
      toDeviceId: 'ben-1',
      kind: 'offer',
      sdp: 'x'.repeat(3_000),
    });
    expect(big.error).toMatchObject({ code: 'invalid_input', reason: 'too_large' });
    const other = await RealtimeTestClient.hello('other-tenant', server.url, {
      token: await devToken(server.url, { tenantId: 'clinic-elsewhere', userId: aliceId }),
      deviceId: 'ada-1',
    });
    const foreign = await other.request('callSignal', {
      callId,
      toUserId: bobId,
      toDeviceId: 'ben-1',
      kind: 'offer',
      sdp: 'v=0',
    });
    expect(foreign.error).toMatchObject({ code: 'not_found' });
    const ok = await a.request('callSignal', {
      callId,
      toUserId: bobId,
      toDeviceId: 'ben-1',
      kind: 'offer',
      sdp: 'v=0\r\n',
    });
    expect(ok).toMatchObject({ ok: true, sent: true });
    const pushed = await b.waitFor((f) => f.type === 'callSignal');
    expect(pushed).toMatchObject({
      callId,
      kind: 'offer',
      sdp: 'v=0\r\n',
      from: { userId: aliceId, deviceId: 'ada-1' },
    });
    // Nothing from another tenant reached bob.
    expect(b.frames.filter((f) => f.type === 'callSignal')).toHaveLength(1);

    expect((await a.request('callLeave', { callId })).ok).toBe(true);
    await b.waitFor(
      (f) => f.type === 'call' && (f['call'] as { status: string }).status === 'ended',
    );
    // The history is a read model: read it until it shows the end.
    let history = await a.request('callHistory', { conversationId });
    for (let i = 0; i < 200; i++) {
      if ((history['calls'] as { status: string }[])[0]?.status === 'ended') break;
      await new Promise((r) => setTimeout(r, 50));
      history = await a.request('callHistory', { conversationId });
    }
    expect(history['calls']).toEqual([
      expect.objectContaining({
        callId,
        startedBy: aliceId,
        participants: [aliceId, bobId],
        outcome: 'completed',
      }),
    ]);
    for (const c of [a, b, other]) c.socket.close();
  });
});
