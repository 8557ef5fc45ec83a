import { randomUUID } from 'node:crypto';
import { AccessPolicy, loadRolePolicy, type Principal } from '@ledgerline/identity';
import { ConflictError, uuidV7Generator } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import {
  CollectedAccessRecords,
  availableDatabases,
  openLedgerFixture,
  type LedgerFixture,
} from '@ledgerline/testing';
import { resolve } from 'node:path';
import {
  CommandRunner,
  type CommandHandler,
  type LoadedState,
  type StateLoader,
} from './command-runner';

const ROLES_FILE = resolve(__dirname, '../../../../policies/roles.yaml');

/** A counter stream: `Add` appends `Added` unless the total would pass `max` (then nothing). */
interface Add {
  readonly tenantId: string;
  readonly counter: string;
  readonly by: number;
  readonly max: number;
}
interface Added {
  readonly by: number;
}
type Counter = LoadedState<number>;

const counterHandler = (
  access?: CommandHandler<Add, number, Counter, Added, number>['access'],
): CommandHandler<Add, number, Counter, Added, number> => ({
  target: (c) => ({ tenantId: c.tenantId, streamId: `counter:${c.tenantId}:${c.counter}` }),
  ...(access ? { access } : {}),
  decide: (c, loaded) => (loaded.state + c.by > c.max ? [] : [{ by: c.by }]),
  encode: (e, eventId) => ({
    eventId,
    type: 'Added',
    schemaVersion: 1,
    metadata: {},
    payload: Buffer.from(JSON.stringify(e)),
  }),
  unchanged: (_c, loaded) => loaded.state,
  appended: (_c, loaded, { events }) => loaded.state + events.reduce((n, e) => n + e.by, 0),
  busy: (streamId, attempts) => new ConflictError(`${streamId} busy after ${attempts}`),
});

/** Reads the whole stream every time (no cache), counting loads. */
class CounterLoader implements StateLoader<number, Counter> {
  loads = 0;
  constructor(private readonly ledger: Pick<Ledger, 'readStream'>) {}
  async load(_tenantId: string, streamId: string): Promise<Counter> {
    this.loads += 1;
    const events = await this.ledger.readStream(streamId);
    let state = 0;
    for (const e of events) {
      if (e.body.status === 'available')
        state += (JSON.parse(e.body.payload.toString()) as Added).by;
    }
    return { streamId, state, revision: events.at(-1)?.revision ?? -1n };
  }
  forget(): void {}
}

for (const kind of availableDatabases()) {
  describe(`command runner on ${kind}`, () => {
    let f: LedgerFixture;
    let records: CollectedAccessRecords;
    let runner: CommandRunner;
    const tenantId = `t${randomUUID().slice(0, 8)}`;
    const user = (roles: string[]): Principal => ({ kind: 'user', id: 'u-1', tenantId, roles });

    beforeAll(async () => {
      f = await openLedgerFixture(kind);
      records = new CollectedAccessRecords();
      runner = new CommandRunner(f.ledger, new AccessPolicy(loadRolePolicy(ROLES_FILE), records), {
        ids: uuidV7Generator,
        maxAttempts: 3,
      });
    });
    afterAll(async () => {
      await f?.close();
    });

    it('checks access first: a refusal is recorded and nothing is read or written', async () => {
      const loader = new CounterLoader(f.ledger);
      const handler = counterHandler(() => ({ permission: 'audit.export' }));
      const command = { tenantId, counter: 'a', by: 1, max: 10 };
      await expect(
        runner.run(handler, loader, command, { principal: user(['user']) }),
      ).rejects.toMatchObject({ code: expect.any(String) as unknown });
      expect(loader.loads).toBe(0);
      expect(records.records.map((r) => r.outcome)).toContain('denied');
      expect(await f.ledger.readStream(`counter:${tenantId}:a`)).toEqual([]);
    });

    it('decides again on fresh state after losing a race, and answers from it', async () => {
      const loader = new CounterLoader(f.ledger);
      const handler = counterHandler();
      await runner.run(handler, loader, { tenantId, counter: 'b', by: 5, max: 10 });
      // Another process appends behind this loader's back on the first load.
      const racing: StateLoader<number, Counter> = {
        load: async (t, s) => {
          const loaded = await loader.load(t, s);
          if (loader.loads === 2) {
            await f.ledger.append(t, s, [handler.encode({ by: 4 }, randomUUID())], loaded.revision);
          }
          return loaded;
        },
        forget: () => undefined,
      };
      // 5 + 4 (the other writer) + 3 would pass 10: decided again on the fresh state, nothing.
      expect(await runner.run(handler, racing, { tenantId, counter: 'b', by: 3, max: 10 })).toBe(9);
      expect(loader.loads).toBe(3);
      expect((await f.ledger.readStream(`counter:${tenantId}:b`)).length).toBe(2);
    });

    it('stores a command sent again with its command id once (event ids derived from it)', async () => {
      const handler = counterHandler();
      const command = { tenantId, counter: 'c', by: 1, max: 100 };
      // A loader that always answers the state before the first send: as after a lost ack, the
      // same events are decided and appended again.
      const stale: StateLoader<number, Counter> = {
        load: (_t, streamId) => Promise.resolve({ streamId, state: 0, revision: -1n }),
        forget: () => undefined,
      };
      await runner.run(handler, stale, command, { commandId: 'cmd-1' });
      await runner.run(handler, stale, command, { commandId: 'cmd-1' });
      expect((await f.ledger.readStream(`counter:${tenantId}:c`)).length).toBe(1);
      // Another command id is another command (and here loses to the stored event: busy).
      await expect(
        runner.run(handler, stale, command, { commandId: 'cmd-2' }),
      ).rejects.toBeInstanceOf(ConflictError);
    });

    it('serialises commands on one stream in this process: none is lost', async () => {
      const loader = new CounterLoader(f.ledger);
      const handler = counterHandler();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          runner.run(handler, loader, { tenantId, counter: 'd', by: 1, max: 100 }),
        ),
      );
      expect([...results].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
    });
  });
}
