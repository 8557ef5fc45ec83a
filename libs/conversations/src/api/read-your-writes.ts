import { decodePosition } from '@ledgerline/kernel';
import type { ConversationProjections } from '../projections/conversation-projections';
import { READ_YOUR_WRITES_TIMEOUT_MS } from './conversation-api.config';

/**
 * Waits until the read models include `minPosition` (an ack's position), so a client reads its own
 * write. UnavailableError (UNAVAILABLE, retryable) when they do not in time. The token was
 * validated at the edge.
 */
export async function readYourWrites(
  projections: Pick<ConversationProjections, 'waitFor'>,
  minPosition: string | null | undefined,
): Promise<void> {
  if (minPosition == null) return;
  const position = decodePosition(minPosition);
  if (position === undefined) return;
  await projections.waitFor(position, { timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS });
}
