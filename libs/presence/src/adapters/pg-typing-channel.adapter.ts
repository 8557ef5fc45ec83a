import { ChannelListener, type SqlClient } from '@ledgerline/database';
import type { TypingChannel, TypingSubscription } from '../application/typing-channel.port';

/** The NOTIFY channel typing signals travel on between nodes. */
export const TYPING_CHANNEL = 'll_typing';

/** TypingChannel over PostgreSQL's NOTIFY/LISTEN (PGlite's in an embedded process). */
export class PgTypingChannel implements TypingChannel {
  constructor(private readonly client: Pick<SqlClient, 'query' | 'listen'>) {}

  async publish(payload: string): Promise<void> {
    await this.client.query('select pg_notify($1, $2)', [TYPING_CHANNEL, payload]);
  }

  subscribe(onPayload: (payload: string | undefined) => void): TypingSubscription {
    return new ChannelListener(this.client, TYPING_CHANNEL, onPayload);
  }
}
