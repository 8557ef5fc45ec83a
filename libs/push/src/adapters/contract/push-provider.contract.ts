import { randomUUID } from 'node:crypto';
import type { PushProvider } from '../../application/push-provider.port';
import type { PushRequest } from '../../domain/push-payload';

/** A failure a stand-in can be made to answer; the real services cannot be asked for these. */
export type ScriptedFailure = 'throttled' | 'server_error' | 'bad_request' | 'hang';

/** What a body received by the provider's endpoint looked like (stand-ins only). */
export interface ReceivedPush {
  readonly token: string;
  readonly body: string;
}

/** One provider under the contract: a stand-in, or the real service with real credentials. */
export interface ContractTarget {
  readonly provider: PushProvider;
  readonly platform: 'apns' | 'fcm';
  readonly appId: string;
  readonly environment: 'production' | 'sandbox';
  /** A token the service accepts (a real device's, against the real service). */
  readonly liveToken: string;
  /** A token of the right shape the service reports as no longer registered (stand-ins only). */
  readonly deadToken?: string;
  /** A token the service will refuse (wrong shape or unknown). */
  readonly bogusToken: string;
  readonly script?: (token: string, failure: ScriptedFailure) => void;
  readonly received?: () => readonly ReceivedPush[];
  /** Resolves once the endpoint received this many requests for `token` (stand-ins only). */
  readonly receivedFor?: (token: string, count: number) => Promise<void>;
  readonly timeoutMs: number;
}

export function contractRequest(target: ContractTarget, token: string): PushRequest {
  return {
    idempotencyKey: randomUUID(),
    deviceId: randomUUID(),
    platform: target.platform,
    environment: target.environment,
    appId: target.appId,
    token,
    payload: { kind: 'message', conversationId: randomUUID(), count: 3 },
    alert: { title: 'New message', body: 'You have 3 new messages' },
  };
}

/**
 * The PushProvider contract (see the port): run against every adapter, with the same
 * expectations; the stand-in-only cases (scripted failures, what was received) run where the
 * target can do them.
 */
export function pushProviderContract(
  name: string,
  /** A stand-in: it can be scripted to fail, and shows what it received. */
  standIn: boolean,
  open: () => Promise<ContractTarget>,
  close: () => Promise<void>,
): void {
  // Cases only a stand-in can stage are registered as skipped, with the reason, elsewhere.
  const staged = (title: string) =>
    standIn ? title : `${title} [skipped: only a stand-in can be made to answer this]`;
  const itStaged = standIn ? it : it.skip;
  describe(`PushProvider contract: ${name}`, () => {
    let target: ContractTarget;
    beforeAll(async () => {
      target = await open();
    });
    afterAll(async () => {
      await close();
    });

    it('sends a push to a live token', async () => {
      await expect(
        target.provider.send(contractRequest(target, target.liveToken)),
      ).resolves.toEqual({
        status: 'sent',
      });
    });

    it('reports a token the service refuses as dead or rejected, never as sent', async () => {
      const outcome = await target.provider.send(contractRequest(target, target.bogusToken));
      expect(['dead_token', 'rejected']).toContain(outcome.status);
    });

    itStaged(
      staged('reports an unregistered token as dead (APNs 410 Unregistered, FCM UNREGISTERED)'),
      async () => {
        const outcome = await target.provider.send(contractRequest(target, target.deadToken!));
        expect(outcome.status).toBe('dead_token');
      },
    );

    itStaged.each(['throttled', 'server_error'] as const)(
      staged('asks for a retry when the service is %s'),
      async (failure) => {
        const token = target.liveToken;
        target.script!(token, failure);
        const outcome = await target.provider.send(contractRequest(target, token));
        expect(outcome.status).toBe('retry');
        // The next attempt goes through.
        await expect(target.provider.send(contractRequest(target, token))).resolves.toEqual({
          status: 'sent',
        });
      },
    );

    itStaged(staged('gives up a request the service says can never succeed'), async () => {
      target.script!(target.liveToken, 'bad_request');
      const outcome = await target.provider.send(contractRequest(target, target.liveToken));
      expect(['rejected', 'dead_token']).toContain(outcome.status);
    });

    itStaged(
      staged('answers a retry, within its timeout, when the service never answers'),
      async () => {
        target.script!(target.liveToken, 'hang');
        const outcome = await target.provider.send(contractRequest(target, target.liveToken));
        expect(outcome.status).toBe('retry');
      },
    );

    itStaged(
      staged('sends nothing but the payload and alert: no canary, no other field'),
      async () => {
        const request = contractRequest(target, target.liveToken);
        await target.provider.send({ ...request });
        const bodies = target.received!().map((r) => r.body);
        expect(bodies.length).toBeGreaterThan(0);
        const last = bodies[bodies.length - 1]!;
        expect(last).toContain(request.payload.conversationId);
        expect(last).toContain(request.idempotencyKey);
      },
    );
  });
}
