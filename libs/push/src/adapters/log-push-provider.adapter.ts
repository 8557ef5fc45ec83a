import type { PushOutcome, PushRequest } from '../domain/push-payload';
import type { PushProvider } from '../application/push-provider.port';
import { normaliseToken } from '../domain/push-tokens';

export interface PushLogSink {
  log(fields: Record<string, unknown>): void;
}

/**
 * For development: each push is a log line (device id, idempotency key, kind, count) and is
 * reported sent (a token of the wrong shape for its platform is rejected). Never the token; the payload holds nothing but kind, conversation id and count.
 */
export class LogPushProvider implements PushProvider {
  readonly name = 'log';
  constructor(private readonly sink: PushLogSink) {}

  send(request: PushRequest): Promise<PushOutcome> {
    try {
      normaliseToken(request.platform, request.token);
    } catch {
      return Promise.resolve({ status: 'rejected', reason: 'bad_token_shape' });
    }
    this.sink.log({
      msg: 'push (log provider)',
      platform: request.platform,
      deviceId: request.deviceId,
      idempotencyKey: request.idempotencyKey,
      kind: request.payload.kind,
      conversationId: request.payload.conversationId,
      count: request.payload.count,
    });
    return Promise.resolve({ status: 'sent' });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
