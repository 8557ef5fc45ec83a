import type { SqlClient, SqlExecutor } from '@ledgerline/database';
import { isUuid } from '@ledgerline/kernel';

/** The PostgreSQL notification channel a revocation is announced on; the payload is the key id. */
export const API_KEY_REVOKED_CHANNEL = 'll_api_key_revoked';

/** How long an announced revocation is remembered for a watch registered just after it. */
const RECENT_MS = 60_000;

/** Announces a revocation to every process listening (inside the revoking transaction or after it). */
export async function announceApiKeyRevoked(db: SqlExecutor, keyId: string): Promise<void> {
  await db.query('select pg_notify($1, $2)', [API_KEY_REVOKED_CHANNEL, keyId]);
}

/**
 * Ends what an API key holds open once it is revoked, on every node: each process listens for
 * revocations (PostgreSQL notifications carrying the key id only, never the key) and calls the
 * watchers of that key. When the listening connection (re)connects, notifications may have been
 * missed: every watched key is then re-checked against `ll_api_keys`. A watch registered right
 * after a revocation was announced hears of it at once.
 *
 * Long-lived connections (realtime, graphql-ws) watch the key that authenticated them; a request
 * made afterwards is refused by authentication itself (`revoked`).
 */
export class ApiKeyRevocations {
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly recent = new Map<string, number>();
  private listening: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly db: SqlClient,
    private readonly log: (what: string, error: unknown) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Calls `onRevoked` (once) when the key is revoked; returns the function that stops watching.
   * Starts listening on first use, so a process that never holds a connection never listens.
   */
  watch(keyId: string, onRevoked: () => void): () => void {
    let fired = false;
    const once = () => {
      if (fired) return;
      fired = true;
      stop();
      onRevoked();
    };
    const set = this.watchers.get(keyId) ?? new Set<() => void>();
    this.watchers.set(keyId, set);
    set.add(once);
    const stop = () => {
      set.delete(once);
      if (set.size === 0 && this.watchers.get(keyId) === set) this.watchers.delete(keyId);
    };
    if (this.wasRecentlyRevoked(keyId)) queueMicrotask(once);
    this.listening ??= this.listen();
    return stop;
  }

  /** Stops listening; watchers are not called any more. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchers.clear();
    await this.listening?.catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    try {
      this.unlisten = await this.db.listen(API_KEY_REVOKED_CHANNEL, (payload) => {
        if (payload === undefined) return void this.recheck();
        this.revoked(payload);
      });
      // Revocations before the listener was in place are caught by one look at the table.
      await this.recheck();
    } catch (error) {
      this.listening = undefined;
      this.log('API key revocation listener failed', error);
    }
  }

  private revoked(keyId: string): void {
    if (this.stopped || !isUuid(keyId)) return;
    this.remember(keyId);
    for (const fire of [...(this.watchers.get(keyId) ?? [])]) fire();
  }

  /** Fires the watchers of every watched key that is revoked now. */
  private async recheck(): Promise<void> {
    const ids = [...this.watchers.keys()];
    if (ids.length === 0 || this.stopped) return;
    try {
      const rows = await this.db.query<{ id: string }>(
        `select id from ll_api_keys where id = any($1::uuid[]) and revoked_at is not null`,
        [ids],
      );
      for (const row of rows) this.revoked(row.id);
    } catch (error) {
      this.log('API key revocation re-check failed', error);
    }
  }

  private remember(keyId: string): void {
    const now = this.now();
    for (const [id, at] of this.recent) if (now - at > RECENT_MS) this.recent.delete(id);
    this.recent.set(keyId, now);
  }

  private wasRecentlyRevoked(keyId: string): boolean {
    const at = this.recent.get(keyId);
    return at !== undefined && this.now() - at <= RECENT_MS;
  }
}
