import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConversationCommands,
  ConversationStates,
  SqlConversationSnapshots,
} from '@ledgerline/conversations';
import {
  AccessPolicy,
  loadRolePolicy,
  type AccessRecorder,
  type Principal,
} from '@ledgerline/identity';
import { systemClock, uuidV7Generator } from '@ledgerline/kernel';
import { CommandRunner, ProjectionProcessor } from '@ledgerline/pipeline';
import {
  ApnsPushProvider,
  ApnsStandIn,
  createStandInTls,
  PushCommands,
  PushDispatcher,
  loadPushTemplates,
  pushProjection,
  type PushRequest,
} from '@ledgerline/push';
import { summarise, type Comparison } from '../report';
import { openSealingStack } from '../sealing-stack';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'push dispatch';
const BATCH = 64;
/** Queued pushes drained per side at scale 1 (one per conversation: nothing coalesces). */
const PUSHES = 2_000;
/** Messages sent one at a time for the append → provider request latency, at scale 1. */
const LATENCY_MESSAGES = 300;
const POLICIES = join(__dirname, '../../../../policies');

/** Records nothing: the bench measures the dispatch, not the audit log (its own scenario). */
const NO_AUDIT: AccessRecorder = { record: () => Promise.resolve() };

/**
 * The push path against the APNs stand-in (HTTP/2, TLS, provider-token checks) on loopback:
 * - throughput: PUSHES queued outbox rows (one member's device per conversation) drained by the
 *   PushDispatcher in batches of BATCH (claim, presence check, token opened from its sealed
 *   event, template, send, delete, per batch), vs the same APNs adapter sending the same number
 *   of requests in batches of BATCH with nothing around it; plus pushes per CPU-second of this
 *   process (client, dispatcher and stand-in share it).
 * - latency: from a message's durable append (the send resolved) to the push request arriving at
 *   the stand-in, with the projection processor and the dispatcher running (polling every 10 ms),
 *   one message at a time; vs one bare APNs request.
 */
export const pushDispatch: Scenario = {
  name: NAME,
  summary:
    `PushDispatcher draining ${PUSHES} queued pushes in batches of ${BATCH} to a local APNs ` +
    'stand-in vs the bare APNs adapter sending as many; and append → provider request latency ' +
    'with the projection processor and dispatcher live vs one bare request',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const pushes = Math.round(PUSHES * context.scale);
    const latencyMessages = Math.round(LATENCY_MESSAGES * context.scale);
    const stack = await openSealingStack(context.db);
    const tls = createStandInTls();
    const team = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const apns = await ApnsStandIn.start({
      tls,
      teamPublicKey: team.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      keyId: 'BENCHKEY12',
      teamId: 'BENCHTEAM1',
    });
    const provider = new ApnsPushProvider({
      key: team.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: 'BENCHKEY12',
      teamId: 'BENCHTEAM1',
      address: { host: '127.0.0.1', port: apns.port },
      ca: [tls.ca],
      timeoutMs: 10_000,
    });
    const client = context.db.client;
    const ledger = stack.newLedger();
    const processor = ProjectionProcessor.create(client, ledger, {});
    try {
      const access = new AccessPolicy(loadRolePolicy(join(POLICIES, 'roles.yaml')), NO_AUDIT);
      const runner = new CommandRunner(ledger, access, { ids: uuidV7Generator });
      const snapshots = SqlConversationSnapshots.create(client, stack.newDataKeys(), {
        clock: systemClock,
      });
      const conversations = new ConversationCommands(
        runner,
        new ConversationStates(ledger, snapshots),
        snapshots,
        { clock: systemClock, ids: uuidV7Generator },
      );
      const push = new PushCommands(runner, ledger, { clock: systemClock });
      processor.register(pushProjection());
      processor.start();
      const dispatcher = (pollIntervalMs: number) =>
        new PushDispatcher(
          client,
          ledger,
          { apns: provider, fcm: provider },
          { isOnline: () => Promise.resolve(false) },
          NO_AUDIT,
          push,
          {
            clock: systemClock,
            templates: loadPushTemplates(join(POLICIES, 'push-templates.yaml')),
            retry: { baseMs: 1_000, maxMs: 60_000, maxAttempts: 3 },
            batchSize: BATCH,
            leaseMs: 60_000,
            pollIntervalMs,
            log: { warn: () => undefined },
          },
        );
      const tenantId = `bench-push-${randomUUID().slice(0, 8)}`;
      const user = (id: string): Principal => ({ kind: 'user', id, tenantId, roles: ['user'] });
      const alice = user('alice');

      // One recipient per conversation, each with a device of its own.
      const setUp = async (count: number) => {
        const ids: string[] = [];
        let position;
        for (let i = 0; i < count; i++) {
          const member = user(`nurse-${randomUUID().slice(0, 8)}`);
          await push.execute(member, {
            type: 'RegisterDevice',
            data: {
              platform: 'apns',
              environment: 'sandbox',
              appId: 'org.example.bench',
              token: randomBytes(32).toString('hex'),
            },
          });
          const conversationId = randomUUID();
          position = (
            await conversations.execute(alice, {
              type: 'CreateGroupConversation',
              data: {
                conversationId,
                title: 'bench',
                members: [{ id: member.id, kind: 'user', role: 'member' }],
              },
            })
          ).position;
          ids.push(conversationId);
        }
        if (position) await processor.waitFor(position, { timeoutMs: 600_000 });
        return ids;
      };

      // ---- throughput -----------------------------------------------------------------------
      context.progress(`${NAME}: setting up ${pushes} conversations with a device each`);
      const ids = await setUp(pushes);
      let last;
      for (const conversationId of ids) {
        last = await conversations.execute(alice, {
          type: 'SendMessage',
          data: { conversationId, clientMessageId: randomUUID(), text: 'bench' },
        });
      }
      if (last?.position) await processor.waitFor(last.position, { timeoutMs: 600_000 });
      context.progress(`${NAME}: draining ${pushes} pushes`);
      const drainer = dispatcher(0);
      const rounds: number[] = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (;;) {
        const r0 = performance.now();
        const n = await drainer.round();
        if (n === 0) break;
        rounds.push(performance.now() - r0);
      }
      const drainMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const perCpuSecond = pushes / ((cpu.user + cpu.system) / 1e6);

      const requests: PushRequest[] = Array.from({ length: pushes }, () => ({
        idempotencyKey: randomUUID(),
        deviceId: randomUUID(),
        platform: 'apns',
        environment: 'sandbox',
        appId: 'org.example.bench',
        token: randomBytes(32).toString('hex'),
        payload: { kind: 'message', conversationId: randomUUID(), count: 1 },
        alert: { title: 'New message', body: 'You have a new message' },
      }));
      const bare: number[] = [];
      const b0 = performance.now();
      for (let i = 0; i < requests.length; i += BATCH) {
        const r0 = performance.now();
        await Promise.all(requests.slice(i, i + BATCH).map((r) => provider.send(r)));
        bare.push(performance.now() - r0);
      }
      const bareMs = performance.now() - b0;
      context.progress(`${NAME}: ${perCpuSecond.toFixed(0)} pushes per CPU-second of this process`);

      // ---- append → provider request ----------------------------------------------------------
      context.progress(`${NAME}: ${latencyMessages} messages, append → provider request`);
      const latencyIds = await setUp(latencyMessages);
      const live = dispatcher(10);
      live.start();
      const latencies: number[] = [];
      const l0 = performance.now();
      try {
        for (const conversationId of latencyIds) {
          if (context.signal.aborted) break;
          await conversations.execute(alice, {
            type: 'SendMessage',
            data: { conversationId, clientMessageId: randomUUID(), text: 'bench' },
          });
          const appended = performance.now();
          const [arrived] = (
            await apns.received.until(
              (items) => items.some((r) => r.body.includes(conversationId)),
              60_000,
              'push',
            )
          ).filter((r) => r.body.includes(conversationId));
          latencies.push(arrived!.at - appended);
        }
      } finally {
        await live.stop();
      }
      const latencyMs = performance.now() - l0;
      const single: number[] = [];
      const s0 = performance.now();
      for (const r of requests.slice(0, latencyMessages)) {
        const r0 = performance.now();
        await provider.send({ ...r, idempotencyKey: randomUUID() });
        single.push(performance.now() - r0);
      }
      const singleMs = performance.now() - s0;

      const comparisons: Comparison[] = [
        {
          scenario: NAME,
          variant: `drain queued, ${perCpuSecond.toFixed(0)} pushes/CPU-s`,
          batch: BATCH,
          concurrency: 1,
          subject: summarise('PushDispatcher', rounds.length, pushes, drainMs, rounds),
          reference: summarise('bare APNs adapter', bare.length, pushes, bareMs, bare),
        },
        {
          scenario: NAME,
          variant: 'append → provider request',
          batch: 1,
          concurrency: 1,
          subject: summarise(
            'append → request',
            latencies.length,
            latencies.length,
            latencyMs,
            latencies,
          ),
          reference: summarise('bare APNs request', single.length, single.length, singleMs, single),
        },
      ];
      return { comparisons, tallies: [] };
    } finally {
      await processor.stop();
      await provider.close();
      await apns.stop();
      tls.dispose();
      await stack.close();
    }
  },
};
