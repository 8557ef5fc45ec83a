import type { SqlClient } from './sql-client.port';

/**
 * LISTEN on one PostgreSQL notification channel while started: `start` is idempotent and may be
 * called again after a failure; `stop` waits for a start under way, then unlistens. The client
 * calls `onNotify` without a payload after it reconnected (notifications may have been missed
 * meanwhile): the owner re-checks what it watches then.
 */
export class ChannelListener {
  private listening: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly client: Pick<SqlClient, 'listen'>,
    private readonly channel: string,
    private readonly onNotify: (payload?: string) => void,
  ) {}

  start(): Promise<void> {
    this.listening ??= this.client
      .listen(this.channel, (payload) => this.onNotify(payload))
      .then((stop) => {
        this.unlisten = stop;
      })
      .catch((error: unknown) => {
        this.listening = undefined;
        throw error;
      });
    return this.listening;
  }

  async stop(): Promise<void> {
    await this.listening?.catch(() => undefined);
    const stop = this.unlisten;
    this.unlisten = undefined;
    this.listening = undefined;
    await stop?.();
  }
}
