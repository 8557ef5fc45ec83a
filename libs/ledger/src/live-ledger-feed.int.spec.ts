import { randomUUID } from 'node:crypto';
import { UnavailableError } from '@ledgerline/kernel';
import { availableDatabases, openLedgerFixture, type LedgerFixture } from '@ledgerline/testing';
import type { Ledger, OpenedEvent } from './ledger';
import { LiveLedgerFeed } from './live-ledger-feed';

// The live feeds of a process over one ledger share one subscription (one `$all` read per wake-up).

describe.each(availableDatabases())('LiveLedgerFeed (%s)', (kind) => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await openLedgerFixture(kind);
  });
  afterAll(async () => {
    await f?.close();
  });

  /** The fixture's ledger, counting the subscriptions opened on it and their filters. */
  function countingLedger() {
    const opened: (readonly string[])[] = [];
    const ledger: Pick<Ledger, 'subscribe'> = {
      subscribe: (options) => {
        opened.push(options.filter?.streamPrefixes ?? []);
        return f.ledger.subscribe(options);
      },
    };
    return { ledger, opened };
  }

  function feed(ledger: Pick<Ledger, 'subscribe'>, prefix: string) {
    const received: OpenedEvent[] = [];
    const live = new LiveLedgerFeed(ledger, f.store, {
      streamPrefix: prefix,
      name: `${prefix} events`,
      onEvent: (event) => {
        received.push(event);
        return Promise.resolve();
      },
      unavailable: () => new UnavailableError('not live'),
      restartDelayMs: 20,
    });
    return { live, received };
  }

  const append = async (streamId: string) =>
    (
      await f.ledger.append(
        'tenant-live',
        streamId,
        [
          {
            eventId: randomUUID(),
            type: 'Noted',
            schemaVersion: 1,
            metadata: {},
            payload: Buffer.from('{}'),
          },
        ],
        'any',
      )
    ).position;

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('two feeds read through one subscription; each gets its own streams, from when it joined', async () => {
    const run = randomUUID().slice(0, 6);
    const [pa, pb] = [`la${run}:`, `lb${run}:`];
    const { ledger, opened } = countingLedger();
    const a = feed(ledger, pa);
    const b = feed(ledger, pb);
    a.live.start();
    await a.live.whenLive(5_000);
    await append(`${pa}1`);
    await append(`${pb}1`); // before b joined: never b's
    await until(() => a.received.length === 1, 'a to see its first event');

    b.live.start();
    await b.live.whenLive(5_000);
    await append(`${pb}2`);
    const lastA = await append(`${pa}2`);
    await until(() => a.received.length === 2 && b.received.length === 1, 'both feeds');
    expect(a.received.map((e) => e.streamId)).toEqual([`${pa}1`, `${pa}2`]);
    expect(b.received.map((e) => e.streamId)).toEqual([`${pb}2`]);
    expect(a.received.at(-1)!.position).toEqual(lastA);
    // One subscription at a time: the second feed widened it (a restart from the last event
    // routed), it did not open one of its own.
    expect(opened.at(-1)).toEqual([pa, pb]);
    expect(opened.length).toBe(2);

    // Stopping one leaves the other following.
    await a.live.stop();
    await append(`${pa}3`);
    await append(`${pb}3`);
    await until(() => b.received.length === 2, 'b after a stopped');
    expect(a.received).toHaveLength(2);
    await b.live.stop();
  });
});
