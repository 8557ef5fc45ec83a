import type { OpenedEvent, PlainEvent } from '@ledgerline/ledger';
import {
  PUSH_ENVIRONMENTS,
  PUSH_EVENT_VERSIONS,
  PUSH_PLATFORMS,
  UNREGISTER_REASONS,
  type PushEvent,
  type PushEventType,
} from '../domain/push.events';

/**
 * The one mapping between push events and ledger events. In clear: type, version and the actor
 * (the user, or `push` when a provider reported a token dead). Everything else, the token first,
 * is the sealed payload.
 */
export function encodePushEvent(event: PushEvent, eventId: string): PlainEvent {
  const system = event.type === 'PushDeviceUnregistered' && event.data.reason !== 'user';
  return {
    eventId,
    type: event.type,
    schemaVersion: event.v,
    metadata: {
      actor: system ? { id: 'push', kind: 'system' } : { id: event.data.userId, kind: 'user' },
    },
    payload: Buffer.from(JSON.stringify(event.data), 'utf8'),
  };
}

function isPushEventType(type: string): type is PushEventType {
  return Object.prototype.hasOwnProperty.call(PUSH_EVENT_VERSIONS, type);
}

const str = (v: unknown): v is string => typeof v === 'string';
const until = (v: unknown) => v === null || str(v);

/**
 * The push event an opened ledger event holds; undefined when its data key was shredded or it is
 * not one this build reads. The payload was authenticated by the ledger: only its shape is checked.
 */
export function openPushEvent(opened: OpenedEvent): PushEvent | undefined {
  if (opened.body.status === 'shredded') return undefined;
  if (!isPushEventType(opened.type)) return undefined;
  if (PUSH_EVENT_VERSIONS[opened.type] !== opened.schemaVersion) return undefined;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(Buffer.from(opened.body.payload).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  if (!str(data['tenantId']) || !str(data['userId']) || !str(data['at'])) return undefined;
  const ok = (() => {
    switch (opened.type) {
      case 'PushDeviceRegistered':
        return (
          str(data['deviceId']) &&
          PUSH_PLATFORMS.includes(data['platform'] as never) &&
          PUSH_ENVIRONMENTS.includes(data['environment'] as never) &&
          str(data['appId']) &&
          str(data['token'])
        );
      case 'PushDeviceUnregistered':
        return str(data['deviceId']) && UNREGISTER_REASONS.includes(data['reason'] as never);
      case 'ConversationMuted':
        return str(data['conversationId']) && until(data['until']);
      case 'ConversationUnmuted':
        return str(data['conversationId']);
      case 'DoNotDisturbSet':
        return until(data['until']);
      case 'DoNotDisturbCleared':
        return true;
    }
  })();
  if (!ok) return undefined;
  return { type: opened.type, v: 1, data } as unknown as PushEvent;
}
