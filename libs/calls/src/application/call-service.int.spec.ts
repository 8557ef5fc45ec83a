import { TooLargeError, UnavailableError } from '@ledgerline/kernel';
import { availableDatabases } from '@ledgerline/testing';
import { CallNotFoundError, CallRefused } from '../domain/call.errors';
import { callStreamId } from '../domain/call-stream';
import { openCallEvent } from './call-events.codec';
import type { CallUpdate } from './call-fan-out';
import type { CallService } from './call-service';
import type { RelayedSignal } from './call-signal-relay.port';
import { CallSfuUnavailableError, CallSignalRateLimitedError } from './calls.errors';
import {
  Collected,
  GRACE_MS,
  RING_MS,
  newTenant,
  openCallsFixture,
  type CallsFixture,
} from './testing/calls-fixture';
import { RecordingSfu } from './testing/recording-sfu';

jest.setTimeout(300_000);

const SDP = `v=0\r\no=- 4611731400430051336 2 IN IP4 192.0.2.55\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 192.0.2.55\r\na=sendrecv\r\na=secret-marker-7f3a\r\n`;

describe.each(availableDatabases())('CallService on %s', (kind) => {
  let f: CallsFixture;
  let node: CallService;

  beforeAll(async () => {
    f = await openCallsFixture(kind);
    node = await f.newNode();
  });
  afterAll(async () => {
    await f?.close();
  });

  /** Watches a user's calls and signals on one device, as a realtime connection does. */
  function device(
    service: CallService,
    principal: ReturnType<typeof newTenant>['alice'],
    deviceId: string,
  ) {
    const updates = new Collected<CallUpdate>();
    const signals = new Collected<RelayedSignal>();
    const stop = service.watch(principal, deviceId, updates.push, signals.push);
    return { updates, signals, stop };
  }

  it('a 1:1 call: ring, accept, signals relayed sealed to one device, leave ends it, history and audit name both', async () => {
    const { alice, bob, tenantId } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const aPhone = device(node, alice, 'a-phone');
    const bLaptop = device(node, bob, 'b-laptop');
    const bPhone = device(node, bob, 'b-phone');

    const started = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a-phone',
    });
    expect(started.call).toMatchObject({ status: 'ringing', ringing: ['bob'], startedBy: 'alice' });
    expect(started.iceServers[0]).toMatchObject({ urls: ['turn:127.0.0.1:3478'] });
    const callId = started.call.callId;
    // Both of bob's devices ring.
    await bLaptop.updates.until(
      (u) => u.some((x) => x.change.type === 'CallStarted'),
      'laptop rings',
    );
    await bPhone.updates.until(
      (u) => u.some((x) => x.change.type === 'CallStarted'),
      'phone rings',
    );

    const accepted = await node.acceptCall(bob, { callId, deviceId: 'b-laptop' });
    expect(accepted.call.status).toBe('active');
    expect(accepted.iceServers).toHaveLength(1);
    await aPhone.updates.until(
      (u) => u.some((x) => x.change.type === 'ParticipantJoined'),
      'caller told',
    );
    // The other device stops ringing: it is told the call was answered.
    await bPhone.updates.until(
      (u) => u.some((x) => x.call.ringing.length === 0 && x.call.status === 'active'),
      'phone stops',
    );

    await node.signal(alice, {
      callId,
      deviceId: 'a-phone',
      toUserId: 'bob',
      toDeviceId: 'b-laptop',
      kind: 'offer',
      sdp: SDP,
    });
    const [offer] = await bLaptop.signals.until((s) => s.length === 1, 'offer relayed');
    expect(offer).toMatchObject({
      kind: 'offer',
      from: { userId: 'alice', deviceId: 'a-phone' },
      payload: { sdp: SDP },
    });
    expect(bPhone.signals.items).toEqual([]); // one named device only
    await node.signal(bob, {
      callId,
      deviceId: 'b-laptop',
      toUserId: 'alice',
      toDeviceId: 'a-phone',
      kind: 'answer',
      sdp: SDP,
    });
    await node.signal(bob, {
      callId,
      deviceId: 'b-laptop',
      toUserId: 'alice',
      toDeviceId: 'a-phone',
      kind: 'candidate',
      candidate: {
        candidate: 'candidate:1 1 udp 2122260223 192.0.2.55 50000 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
      },
    });
    await aPhone.signals.until((s) => s.length === 2, 'answer and candidate relayed');
    // Delivered rows are gone; nothing of an SDP rests in the database or in the call's events.
    const rows = await f.ledgerFixture.db.client.query(
      `select * from ll_call_signals where tenant_id = $1`,
      [tenantId],
    );
    expect(rows).toEqual([]);
    const raw = await f.ledgerFixture.store.readStream(callStreamId(tenantId, callId));
    for (const e of raw) expect(Buffer.from(e.data).includes('secret-marker-7f3a')).toBe(false);

    f.ledgerFixture.clock.advance(61_000);
    const left = await node.leaveCall(bob, { callId, deviceId: 'b-laptop' });
    expect(left.status).toBe('ended');
    await aPhone.updates.until(
      (u) => u.some((x) => x.change.type === 'CallEnded'),
      'caller told it ended',
    );

    await f.settled();
    const [entry] = await node.history(alice, conversationId);
    expect(entry).toMatchObject({
      callId,
      startedBy: 'alice',
      participants: ['alice', 'bob'],
      outcome: 'completed',
      durationMs: 61_000,
      status: 'ended',
    });
    const joins = f.accessLog.records.filter(
      (r) => r.tenantId === tenantId && r.action === 'call.joined',
    );
    expect(joins.map((r) => r.subjectUserIds[0]).sort()).toEqual(['alice', 'bob']);
    expect(joins[0]!.origin).toMatchObject({ clientAddress: '192.0.2.10' });
    const leaves = f.accessLog.records.filter(
      (r) => r.tenantId === tenantId && r.action === 'call.left',
    );
    expect(leaves.map((r) => r.subjectUserIds[0]).sort()).toEqual(['alice', 'bob']);
    for (const d of [aPhone, bLaptop, bPhone]) d.stop();
  });

  it('a signal waits sealed for a device that is not connected yet, and is claimed when it attaches', async () => {
    const { alice, bob, tenantId } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const { call } = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'audio',
      deviceId: 'a',
    });
    await node.acceptCall(bob, { callId: call.callId, deviceId: 'b' });
    await node.signal(alice, {
      callId: call.callId,
      deviceId: 'a',
      toUserId: 'bob',
      toDeviceId: 'b',
      kind: 'offer',
      sdp: SDP,
    });
    const [row] = await f.ledgerFixture.db.client.query<{ sealed: Uint8Array }>(
      `select sealed from ll_call_signals where tenant_id = $1`,
      [tenantId],
    );
    expect(Buffer.from(row!.sealed).includes('secret-marker-7f3a')).toBe(false);
    expect(Buffer.from(row!.sealed).includes('192.0.2.55')).toBe(false);
    const late = device(node, bob, 'b');
    const [signal] = await late.signals.until((s) => s.length === 1, 'waiting signal claimed');
    expect(signal!.payload).toEqual({ sdp: SDP });
    late.stop();
  });

  it('devices attaching together claim in one go, each only what waited for it (same ids in another tenant included)', async () => {
    const tenants = [newTenant(), newTenant()];
    for (const [i, t] of tenants.entries()) {
      const conversationId = await f.conversation(t.alice, ['bob']);
      const { call } = await node.startCall(t.alice, {
        conversationId,
        kind: 'direct',
        media: 'audio',
        deviceId: 'a',
      });
      await node.acceptCall(t.bob, { callId: call.callId, deviceId: 'b' });
      for (const candidate of [`candidate:${i} 1 udp 1 192.0.2.${i} 9 typ host`, 'second']) {
        await node.signal(t.alice, {
          callId: call.callId,
          deviceId: 'a',
          toUserId: 'bob',
          toDeviceId: 'b',
          kind: 'candidate',
          candidate: { candidate },
        });
      }
    }
    // In one turn: the claims share a statement.
    const bobs = tenants.map((t) => device(node, t.bob, 'b'));
    const carol = device(node, tenants[0]!.carol, 'c');
    for (const [i, bob] of bobs.entries()) {
      const signals = await bob.signals.until((s) => s.length === 2, `bob ${i} claims both`);
      expect(signals.map((s) => s.tenantId)).toEqual([tenants[i]!.tenantId, tenants[i]!.tenantId]);
      expect(
        signals.map((s) => (s.payload as { candidate: { candidate: string } }).candidate.candidate),
      ).toEqual([`candidate:${i} 1 udp 1 192.0.2.${i} 9 typ host`, 'second']);
    }
    await f.settled();
    expect(carol.signals.items).toEqual([]);
    for (const t of tenants) {
      expect(
        await f.ledgerFixture.db.client.query(
          `select 1 from ll_call_signals where tenant_id = $1`,
          [t.tenantId],
        ),
      ).toEqual([]);
    }
    for (const d of [...bobs, carol]) d.stop();
  });

  it('refuses bad signals and changes nothing', async () => {
    const { alice, bob, carol } = newTenant();
    const other = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const { call } = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a',
    });
    const callId = call.callId;
    // To a device that is not in the call (bob has not answered yet).
    await expect(
      node.signal(alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'offer',
        sdp: SDP,
      }),
    ).rejects.toMatchObject({ reason: 'target_not_in_call' });
    await node.acceptCall(bob, { callId, deviceId: 'b' });
    await expect(
      node.signal(alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'elsewhere',
        kind: 'offer',
        sdp: SDP,
      }),
    ).rejects.toMatchObject({ reason: 'target_not_in_call' });
    // From a device that is not in it.
    await expect(
      node.signal(alice, {
        callId,
        deviceId: 'a-tablet',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'offer',
        sdp: SDP,
      }),
    ).rejects.toMatchObject({ reason: 'not_participant' });
    // From someone outside the conversation, or another tenant: the call is not found.
    await expect(
      node.signal(carol, {
        callId,
        deviceId: 'c',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'offer',
        sdp: SDP,
      }),
    ).rejects.toBeInstanceOf(CallNotFoundError);
    await expect(
      node.signal(other.alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'offer',
        sdp: SDP,
      }),
    ).rejects.toBeInstanceOf(CallNotFoundError);
    // Oversized SDP.
    await expect(
      node.signal(alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'offer',
        sdp: 'a'.repeat(5_000),
      }),
    ).rejects.toBeInstanceOf(TooLargeError);
    // A flood of ICE candidates: the sixth within the window is refused.
    const candidate = { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' };
    for (let i = 0; i < 5; i++) {
      await node.signal(alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'candidate',
        candidate,
      });
    }
    await expect(
      node.signal(alice, {
        callId,
        deviceId: 'a',
        toUserId: 'bob',
        toDeviceId: 'b',
        kind: 'candidate',
        candidate,
      }),
    ).rejects.toBeInstanceOf(CallSignalRateLimitedError);
  });

  it('one active call per conversation; only members start or join; no accept after cancel', async () => {
    const { alice, bob, mallory } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    await expect(
      node.startCall(mallory, { conversationId, kind: 'direct', media: 'audio', deviceId: 'm' }),
    ).rejects.toMatchObject({ code: 'conversation_not_found' });
    const first = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'audio',
      deviceId: 'a',
    });
    await expect(
      node.startCall(bob, { conversationId, kind: 'direct', media: 'audio', deviceId: 'b' }),
    ).rejects.toMatchObject({ reason: 'call_in_progress' });
    // Two nodes racing to start the next call: exactly one wins.
    await node.cancelCall(alice, { callId: first.call.callId });
    await expect(
      node.acceptCall(bob, { callId: first.call.callId, deviceId: 'b' }),
    ).rejects.toMatchObject({
      reason: 'call_ended',
    });
    const other = await f.newNode();
    const race = await Promise.allSettled([
      node.startCall(alice, { conversationId, kind: 'direct', media: 'audio', deviceId: 'a' }),
      other.startCall(bob, { conversationId, kind: 'direct', media: 'audio', deviceId: 'b' }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(CallRefused);
    expect((refused.reason as CallRefused).reason).toBe('call_in_progress');
  });

  it('missed after the ring timeout, issued by the sweep of a node that never saw the call (timers survive a restart)', async () => {
    const { alice, bob } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const { call } = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a',
    });
    await f.settled();
    const restarted = await f.newNode();
    await restarted.sweep();
    expect((await restarted.callOf(bob, call.callId)).status).toBe('ringing');
    f.ledgerFixture.clock.advance(RING_MS);
    await restarted.sweep();
    expect((await restarted.callOf(bob, call.callId)).status).toBe('ended');
    await f.settled();
    const [entry] = await restarted.history(bob, conversationId);
    expect(entry).toMatchObject({ outcome: 'missed', participants: ['alice'], durationMs: 0 });
  });

  it('a participant whose connection dies leaves after the grace period, and the call ends', async () => {
    const { alice, bob, tenantId } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const a = device(node, alice, 'a');
    const b = device(node, bob, 'b');
    const { call } = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a',
    });
    await node.acceptCall(bob, { callId: call.callId, deviceId: 'b' });
    await f.settled();
    b.stop(); // bob's connection dies
    await a.updates.until(
      (u) => u.some((x) => x.change.type === 'ParticipantDisconnected'),
      'disconnect seen',
    );
    await f.settled();
    f.ledgerFixture.clock.advance(GRACE_MS - 1);
    await node.sweep();
    expect((await node.callOf(alice, call.callId)).status).toBe('active');
    f.ledgerFixture.clock.advance(1);
    await node.sweep();
    const ended = await a.updates.until(
      (u) => u.some((x) => x.change.type === 'CallEnded'),
      'call ended',
    );
    expect(
      ended.find((x) => x.change.type === 'ParticipantLeft' && x.change.userId === 'bob')?.change
        .reason,
    ).toBe('connection_lost');
    const left = f.accessLog.records.filter(
      (r) => r.tenantId === tenantId && r.action === 'call.left' && r.subjectUserIds[0] === 'bob',
    );
    expect(left[0]).toMatchObject({ reason: 'connection_lost' });
    a.stop();
  });

  it('a device that comes back within the grace period stays in the call', async () => {
    const { alice, bob } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const { call } = await node.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a',
    });
    const a = device(node, alice, 'a');
    await node.acceptCall(bob, { callId: call.callId, deviceId: 'b' });
    await f.settled();
    device(node, bob, 'b').stop();
    await a.updates.until(
      (u) => u.some((x) => x.change.type === 'ParticipantDisconnected'),
      'disconnect seen',
    );
    await f.settled();
    const back = device(node, bob, 'b');
    await a.updates.until(
      (u) => u.some((x) => x.change.type === 'ParticipantReconnected'),
      'reconnect seen',
    );
    await f.settled();
    f.ledgerFixture.clock.advance(GRACE_MS * 2);
    await node.sweep();
    expect((await node.callOf(alice, call.callId)).status).toBe('active');
    a.stop();
    back.stop();
  });

  it('a node that dies without closing its connections: after its lease another node disconnects its devices, and they leave after the grace period', async () => {
    const LEASE_MS = 60_000;
    const dying = await f.newNode(undefined, {
      nodeId: `dying-${kind}`,
      connectionLeaseMs: LEASE_MS,
    });
    const survivor = await f.newNode(undefined, {
      nodeId: `survivor-${kind}`,
      connectionLeaseMs: LEASE_MS,
    });
    const { alice, bob, tenantId } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    const a = device(survivor, alice, 'a');
    device(dying, bob, 'b'); // never closed: its node "dies" (stops renewing)
    const { call } = await survivor.startCall(alice, {
      conversationId,
      kind: 'direct',
      media: 'video',
      deviceId: 'a',
    });
    await dying.acceptCall(bob, { callId: call.callId, deviceId: 'b' });
    const client = f.ledgerFixture.db.client;
    for (let i = 0; i < 1_000; i++) {
      const rows = await client.query(
        `select node_id from ll_call_connections where tenant_id = $1 order by node_id`,
        [tenantId],
      );
      if (rows.length === 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await f.settled();
    await survivor.sweep(); // within the lease: nothing happens to bob
    expect((await survivor.callOf(alice, call.callId)).devices.every((d) => d.connected)).toBe(
      true,
    );
    f.ledgerFixture.clock.advance(LEASE_MS + 1);
    await survivor.sweep();
    await a.updates.until(
      (u) =>
        u.some((x) => x.change.type === 'ParticipantDisconnected' && x.change.userId === 'bob'),
      'bob disconnected',
    );
    // Alice's own record was renewed by her node's sweep: she stays connected.
    expect(
      (await survivor.callOf(alice, call.callId)).devices.find((d) => d.userId === 'alice')
        ?.connected,
    ).toBe(true);
    await f.settled();
    f.ledgerFixture.clock.advance(GRACE_MS);
    await survivor.sweep();
    const ended = await a.updates.until(
      (u) => u.some((x) => x.change.type === 'CallEnded'),
      'call ended',
    );
    expect(
      ended.find((x) => x.change.type === 'ParticipantLeft' && x.change.userId === 'bob')?.change
        .reason,
    ).toBe('connection_lost');
    a.stop();
  });

  it('without TURN credentials to hand out a start is refused, retryable, and nothing changes', async () => {
    const noTurn = await f.newNode(
      undefined,
      {},
      {
        forMember: () => {
          throw new UnavailableError('TURN is not configured');
        },
      },
    );
    const { alice } = newTenant();
    const conversationId = await f.conversation(alice, ['bob']);
    await expect(
      noTurn.startCall(alice, { conversationId, kind: 'direct', media: 'audio', deviceId: 'a' }),
    ).rejects.toMatchObject({ retryable: true });
    await f.settled();
    expect(await noTurn.history(alice, conversationId)).toEqual([]);
  });

  it('group calls without an SFU are refused with sfu_unavailable, changing nothing', async () => {
    const { alice } = newTenant();
    const conversationId = await f.conversation(alice, ['bob', 'carol']);
    const error = await node
      .startCall(alice, { conversationId, kind: 'group', media: 'video', deviceId: 'a' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallSfuUnavailableError);
    expect(error).toMatchObject({ code: 'sfu_unavailable', retryable: true });
    expect(await node.history(alice, conversationId)).toEqual([]);
  });

  it('group calls go through the SfuPort: rooms, joins, requests, media audit, engine failures, last leave ends it', async () => {
    const sfu = new RecordingSfu();
    const withSfu = await f.newNode(sfu);
    const { alice, bob, carol, tenantId, listener } = newTenant();
    const conversationId = await f.conversation(alice, ['bob', 'carol', 'lena']);
    const started = await withSfu.startCall(alice, {
      conversationId,
      kind: 'group',
      media: 'video',
      deviceId: 'a',
    });
    const callId = started.call.callId;
    expect(started.sfu).toMatchObject({ engine: 'mediasoup' });
    expect(started.iceServers).toHaveLength(1);
    expect(sfu.called('createRoom')[0]).toEqual([`${tenantId}/${callId}`, { maxParticipants: 4 }]);
    const joined = await withSfu.joinCall(bob, { callId, deviceId: 'b' });
    expect(joined.sfu).toBeDefined();
    // A listen-only role joins as a listener: the engine is told.
    await expect(
      withSfu.joinCall(listener, { callId, deviceId: 'l', role: 'speaker' }),
    ).rejects.toMatchObject({
      reason: 'listen_only',
    });
    await withSfu.joinCall(listener, { callId, deviceId: 'l' });
    expect(sfu.called('join').at(-1)![1]).toMatchObject({ userId: 'lena', listenOnly: true });
    const reply = await withSfu.sfuRequest(bob, {
      callId,
      deviceId: 'b',
      method: 'produce',
      data: { kind: 'video' },
    });
    expect(reply).toEqual({ echoed: 'produce' });
    await expect(
      withSfu.sfuRequest(carol, { callId, deviceId: 'c', method: 'produce', data: {} }),
    ).rejects.toMatchObject({ reason: 'not_participant' });

    // The engine goes down: a join is refused, typed and retryable, and the call's state is unchanged.
    sfu.down = true;
    await expect(withSfu.joinCall(carol, { callId, deviceId: 'c' })).rejects.toMatchObject({
      code: 'sfu_unavailable',
    });
    expect((await withSfu.callOf(alice, callId)).devices.map((d) => d.userId).sort()).toEqual([
      'alice',
      'bob',
      'lena',
    ]);
    sfu.down = false;

    // An engine failure and a dead transport are recorded in the call's stream and the audit log.
    sfu.emit({
      kind: 'engine-failure',
      roomId: `${tenantId}/${callId}`,
      detail: 'worker_died',
      reconnect: [],
    });
    sfu.emit({
      kind: 'participant-gone',
      ref: { roomId: `${tenantId}/${callId}`, participantId: JSON.stringify(['lena', 'l']) },
      reason: 'transport-timeout',
      stats: { bytesSent: 0, bytesReceived: 0, joinedAt: new Date().toISOString() },
    });
    await withSfu.leaveCall(bob, { callId, deviceId: 'b' });
    await withSfu.leaveCall(alice, { callId, deviceId: 'a' });
    const deadline = Date.now() + 60_000;
    let types: string[] = [];
    while (Date.now() < deadline) {
      const events = await f.ledgerFixture.ledger.readStream(callStreamId(tenantId, callId));
      types = events.map((e) => openCallEvent(e)!.type);
      if (types.filter((t) => t === 'MediaSessionEnded').length >= 3 && types.includes('CallEnded'))
        break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(types).toContain('MediaEngineFailed');
    expect(types.filter((t) => t === 'MediaSessionEnded')).toHaveLength(3);
    expect(types.at(-1) === 'CallEnded' || types.includes('CallEnded')).toBe(true);
    const media = f.accessLog.records.filter(
      (r) => r.tenantId === tenantId && r.action === 'call.media',
    );
    expect(media.map((r) => r.subjectUserIds[0]).sort()).toEqual(['alice', 'bob', 'lena']);
    expect(media.find((r) => r.subjectUserIds[0] === 'bob')!.origin).toMatchObject({
      clientAddress: '198.51.100.7:40000',
    });
    expect(
      f.accessLog.records.some((r) => r.tenantId === tenantId && r.action === 'call.engine_failed'),
    ).toBe(true);
    expect(sfu.called('closeRoom')).toEqual([[`${tenantId}/${callId}`]]);
  });
});
