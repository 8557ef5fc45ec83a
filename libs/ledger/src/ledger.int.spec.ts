import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  AwsKmsKeyProvider,
  DataKeyCache,
  DataKeys,
  KeyProviderUnavailableError,
  LegalHoldError,
} from '@ledgerline/crypto';
import type { RecordedEvent } from '@ledgerline/kernel';
import { availableDatabases, openLedgerFixture, type LedgerFixture } from '@ledgerline/testing';
import { keyStreamId } from './key-lifecycle';
import { Ledger, type OpenedEvent, type PlainEvent } from './ledger';
import { IntegrityError } from './ledger.errors';

const CANARY = 'CANARY-7f3a-patient-Jane-Roe-dx-hypertension';
const actor = { id: 'user-1', kind: 'user' as const };

function plain(text: string, type = 'NoteWritten'): PlainEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    metadata: { actor, correlationId: 'corr-1' },
    payload: Buffer.from(text, 'utf8'),
  };
}

const textOf = (e: OpenedEvent) =>
  e.body.status === 'available' ? e.body.payload.toString('utf8') : `<${e.body.status}>`;

/** A digest of every stored column of every event: proves rotation rewrote nothing. */
async function eventTableDigest(f: LedgerFixture): Promise<string> {
  const [row] = await f.db.client.query<{ digest: string }>(
    `select md5(coalesce(string_agg(concat_ws('|', position, tx_id, stream_id, revision, event_id, type,
       schema_version, tenant_id, recorded_at, metadata::text, encode(data, 'hex')), ',' order by position), '')) as digest
     from ll_events`,
  );
  return row!.digest;
}

/** Runs SQL against the event table with its append-only triggers off: an attacker with DBA rights. */
async function tamper(f: LedgerFixture, sql: string, params: unknown[]): Promise<void> {
  await f.db.client.transaction(async (tx) => {
    await tx.query('alter table ll_events disable trigger user', []);
    await tx.query(sql, params);
    await tx.query('alter table ll_events enable trigger user', []);
  });
}

async function expectIntegrityFailure(
  f: LedgerFixture,
  streamId: string,
  revision: bigint,
  failure?: string,
): Promise<void> {
  const error = await f.ledger.readStream(streamId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrityError);
  const integrity = error as IntegrityError;
  expect(integrity.streamId).toBe(streamId);
  expect(integrity.revision).toBe(revision);
  if (failure) expect(integrity.failure).toBe(failure);
  expect(integrity.message).not.toContain(CANARY);
  expect(f.alarms.at(-1)).toBe(integrity);
}

for (const kind of availableDatabases()) {
  describe(`ledger: sealed events on ${kind}`, () => {
    let f: LedgerFixture;
    let tenant: string;
    const stream = (name: string) => `note:${tenant}:${name}`;

    beforeAll(async () => {
      f = await openLedgerFixture(kind);
    });
    afterAll(async () => {
      await f?.close();
    });
    beforeEach(() => {
      tenant = `t${randomUUID().slice(0, 8)}`;
      f.clock.set('2026-11-25T10:00:00.000Z');
    });

    it('seals every payload: readable through the ledger, never in clear in the table', async () => {
      await f.ledger.append(
        tenant,
        stream('a'),
        [plain(CANARY), plain(`${CANARY}-2`)],
        'no_stream',
      );
      const read = await f.ledger.readStream(stream('a'));
      expect(read.map(textOf)).toEqual([CANARY, `${CANARY}-2`]);
      expect(read[0]!.metadata).toEqual({ actor, correlationId: 'corr-1' });

      const raw = await f.store.readStream(stream('a'));
      for (const e of raw) {
        expect(Buffer.from(e.data).includes(Buffer.from(CANARY))).toBe(false);
        expect(JSON.stringify(e.metadata)).not.toContain(CANARY);
      }
      const rows = await f.db.client.query<{ hit: number }>(
        `select count(*)::int as hit from ll_events where position(convert_to($1, 'UTF8') in data) > 0
           or metadata::text like '%' || $1 || '%'`,
        [CANARY],
      );
      expect(rows[0]!.hit).toBe(0);
    });

    it('chains each event to the one before it, across appends and concurrent writers', async () => {
      await f.ledger.append(tenant, stream('c'), [plain('one')], 'no_stream');
      // Two ledgers (two processes) append to one stream at once with `any`: neither forks it.
      const other = f.newLedger().ledger;
      await Promise.all([
        f.ledger.append(tenant, stream('c'), [plain('two')], 'any'),
        other.append(tenant, stream('c'), [plain('three')], 'any'),
        f.ledger.append(tenant, stream('c'), [plain('four'), plain('five')], 'any'),
      ]);
      const read = await f.newLedger().ledger.readStream(stream('c'));
      expect(read).toHaveLength(5);
      expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      const raw = await f.store.readStream(stream('c'));
      for (let i = 1; i < raw.length; i++) {
        const prev = (raw[i]!.metadata['seal'] as { prev: string }).prev;
        expect(prev).toBe((raw[i - 1]!.metadata['seal'] as { hash: string }).hash);
      }
    });

    it('pages forward to the end and past it without a false alarm', async () => {
      await f.ledger.append(tenant, stream('p'), [plain('1'), plain('2')], 'no_stream');
      const alarmsBefore = f.alarms.length;
      expect(
        await f.ledger.readStream(stream('p'), { fromRevision: 0n, maxCount: 2 }),
      ).toHaveLength(2);
      expect(await f.ledger.readStream(stream('p'), { fromRevision: 2n, maxCount: 2 })).toEqual([]);
      expect(await f.ledger.readStream(stream('p'), { fromRevision: 9n })).toEqual([]);
      expect(await f.ledger.readStream(stream('never'))).toEqual([]);
      expect(f.alarms).toHaveLength(alarmsBefore);
    });

    it("a process whose cached tip is stale still chains correctly at the caller's revision", async () => {
      const a = f.newLedger().ledger;
      const b = f.newLedger().ledger;
      await a.append(tenant, stream('st'), [plain('a0')], 'no_stream'); // a caches revision 0
      await b.append(tenant, stream('st'), [plain('b1')], 0n);
      await a.append(tenant, stream('st'), [plain('a2')], 1n); // a's tip was stale
      const retried = plain('b3');
      await b.append(tenant, stream('st'), [retried], 2n);
      await expect(a.append(tenant, stream('st'), [plain('late')], 1n)).rejects.toMatchObject({
        code: 'wrong_expected_revision',
        actual: 3n,
      });
      expect((await a.append(tenant, stream('st'), [retried], 2n)).duplicate).toBe(true);
      const read = await f.newLedger().ledger.readStream(stream('st'));
      expect(read.map(textOf)).toEqual(['a0', 'b1', 'a2', 'b3']);
    });

    it('a page that races an append is not taken for a truncated stream', async () => {
      await f.ledger.append(tenant, stream('race'), [plain('r0')], 'no_stream');
      const writer = f.newLedger().ledger;
      const store = f.store;
      // The store's revision counter is read after the page: let an append land in between.
      const racing = Object.create(store) as typeof store;
      racing.streamRevision = async (id: string) => {
        await writer.append(tenant, id, [plain('concurrent')], 'any');
        return store.streamRevision(id);
      };
      const reader = new Ledger(racing, f.newLedger().dataKeys, {
        clock: f.clock,
        onIntegrityFailure: (e) => f.alarms.push(e),
      });
      const alarmsBefore = f.alarms.length;
      expect((await reader.readStream(stream('race'))).map(textOf)).toEqual(['r0']);
      expect(f.alarms).toHaveLength(alarmsBefore);
    });

    it('fails the whole append, writing nothing, when KMS is down (after bounded retries)', async () => {
      // Nothing listens on port 9 of the loopback: every KMS call is refused.
      const kms = new AwsKmsKeyProvider({
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9',
        tenantKeys: new Map(),
        defaultKey: 'alias/ledgerline-test',
        maxAttempts: 3,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        retryBaseDelayMs: 5,
        retryMaxDelayMs: 20,
      });
      const dataKeys = new DataKeys(
        kms,
        f.keyStore,
        new DataKeyCache({ maxKeys: 10, maxAgeMs: 60_000, maxUses: 100 }),
        {
          maxEventsPerDataKey: 100,
        },
      );
      const ledger = new Ledger(f.store, dataKeys, { clock: f.clock });
      const error = await ledger
        .append(tenant, stream('kms'), [plain(CANARY), plain('b')], 'no_stream')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyProviderUnavailableError);
      expect((error as KeyProviderUnavailableError).retryable).toBe(true);
      expect((error as Error).message).not.toContain(CANARY);
      expect(await f.store.streamRevision(stream('kms'))).toBeUndefined();
      await kms.close();
    });

    it('a retried append is stored once', async () => {
      const batch = [plain('x'), plain('y')];
      const first = await f.ledger.append(tenant, stream('r'), batch, 'no_stream');
      const again = await f.newLedger().ledger.append(tenant, stream('r'), batch, 'no_stream');
      expect(again.duplicate).toBe(true);
      expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
      expect(await f.ledger.readStream(stream('r'))).toHaveLength(2);
    });

    it('uses a data key for at most the configured number of events, asking the key ring per key', async () => {
      const { ledger } = f.newLedger({ maxEventsPerDataKey: 3 });
      const before = { ...f.provider.calls };
      for (let i = 0; i < 7; i++) await ledger.append(tenant, stream('k'), [plain(`m${i}`)], 'any');
      const keys = (await f.store.readStream(stream('k'))).map(
        (e) => (e.metadata['seal'] as { key: string }).key,
      );
      expect(new Set(keys).size).toBe(3);
      for (const key of new Set(keys))
        expect(keys.filter((k) => k === key).length).toBeLessThanOrEqual(3);
      expect(f.provider.calls.generateDataKey - before.generateDataKey).toBe(3);
      // Reading 7 events in a fresh process unwraps each key once, not once per event.
      const fresh = f.newLedger().ledger;
      const unwrapsBefore = f.provider.calls.unwrap;
      expect((await fresh.readStream(stream('k'))).map(textOf)).toHaveLength(7);
      expect(f.provider.calls.unwrap - unwrapsBefore).toBe(3);
    });

    it('a new epoch gets a new data key', async () => {
      await f.ledger.append(tenant, stream('e'), [plain('november')], 'any');
      f.clock.set('2026-12-01T00:00:00.000Z');
      await f.ledger.append(tenant, stream('e'), [plain('december')], 'any');
      const seals = (await f.store.readStream(stream('e'))).map(
        (e) => e.metadata['seal'] as { key: string; epoch: string },
      );
      expect(seals.map((s) => s.epoch)).toEqual(['2026-11', '2026-12']);
      expect(seals[0]!.key).not.toBe(seals[1]!.key);
    });

    describe('tampering is detected, naming the stream and revision', () => {
      let target: RecordedEvent;
      beforeEach(async () => {
        await f.ledger.append(
          tenant,
          stream('t'),
          [plain('a'), plain(CANARY), plain('c')],
          'no_stream',
        );
        target = (await f.store.readStream(stream('t')))[1]!;
      });

      it('swapping the ciphertexts of two events makes both fail', async () => {
        const [a, b] = await f.store.readStream(stream('t'));
        await tamper(f, 'update ll_events set data = $2 where event_id = $1', [
          a!.eventId,
          Buffer.from(b!.data),
        ]);
        await tamper(f, 'update ll_events set data = $2 where event_id = $1', [
          b!.eventId,
          Buffer.from(a!.data),
        ]);
        await expectIntegrityFailure(f, stream('t'), 0n);
        const [swappedA, swappedB] = await f.store.readStream(stream('t'));
        await expect(f.ledger.open(swappedA!)).rejects.toBeInstanceOf(IntegrityError);
        await expect(f.ledger.open(swappedB!)).rejects.toBeInstanceOf(IntegrityError);
      });

      it.each([
        [
          'a byte of the ciphertext',
          `update ll_events set data = set_byte(data, 20, get_byte(data, 20) # 1) where event_id = $1`,
        ],
        [
          'the first byte of the ciphertext',
          `update ll_events set data = set_byte(data, 0, get_byte(data, 0) # 1) where event_id = $1`,
        ],
        [
          'the last byte of the ciphertext',
          `update ll_events set data = set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 1) where event_id = $1`,
        ],
        [
          'the actor in the metadata',
          `update ll_events set metadata = jsonb_set(metadata, '{actor,id}', '"user-2"') where event_id = $1`,
        ],
        [
          'the correlation id',
          `update ll_events set metadata = jsonb_set(metadata, '{correlationId}', '"corr-2"') where event_id = $1`,
        ],
        [
          'the seal hash',
          `update ll_events set metadata = jsonb_set(metadata, '{seal,hash}', to_jsonb(repeat('0', 64))) where event_id = $1`,
        ],
        ['the type', `update ll_events set type = 'NoteWrittem' where event_id = $1`],
        ['the schema version', `update ll_events set schema_version = 2 where event_id = $1`],
        ['the tenant', `update ll_events set tenant_id = tenant_id || 'x' where event_id = $1`],
        [
          'the recorded time',
          `update ll_events set recorded_at = recorded_at + interval '1 millisecond' where event_id = $1`,
        ],
      ])('%s', async (_what, sql) => {
        await tamper(f, sql, [target.eventId]);
        await expectIntegrityFailure(f, stream('t'), 1n);
      });

      it('an event id replaced', async () => {
        await tamper(f, 'update ll_events set event_id = $2 where event_id = $1', [
          target.eventId,
          randomUUID(),
        ]);
        await expectIntegrityFailure(f, stream('t'), 1n, 'hash_mismatch');
      });

      it('an event removed from the middle', async () => {
        await tamper(f, 'delete from ll_events where event_id = $1', [target.eventId]);
        await expectIntegrityFailure(f, stream('t'), 1n, 'chain_broken');
      });

      it('a truncated stream', async () => {
        const last = (await f.store.readStream(stream('t')))[2]!;
        await tamper(f, 'delete from ll_events where event_id = $1', [last.eventId]);
        await expectIntegrityFailure(f, stream('t'), 2n, 'stream_truncated');
      });

      it('two events swapped in order', async () => {
        const [, b, c] = await f.store.readStream(stream('t'));
        await tamper(f, 'update ll_events set revision = -1 where event_id = $1', [b!.eventId]);
        await tamper(f, 'update ll_events set revision = 1 where event_id = $1', [c!.eventId]);
        await tamper(f, 'update ll_events set revision = 2 where event_id = $1', [b!.eventId]);
        await expectIntegrityFailure(f, stream('t'), 1n);
      });

      it('an append on top of a tampered tail is refused, and writes nothing', async () => {
        const last = (await f.store.readStream(stream('t')))[2]!;
        await tamper(f, `update ll_events set type = 'Forged' where event_id = $1`, [last.eventId]);
        const { ledger } = f.newLedger();
        await expect(
          ledger.append(tenant, stream('t'), [plain('d')], 'any'),
        ).rejects.toBeInstanceOf(IntegrityError);
        expect(await f.store.streamRevision(stream('t'))).toBe(2n);
      });
    });

    describe('rotation', () => {
      it('re-wraps every data key under a new KEK version; no event changes and all still open', async () => {
        for (let i = 0; i < 4; i++) {
          await f.ledger.append(tenant, stream(`rot${i}`), [plain(`${CANARY}-${i}`)], 'no_stream');
        }
        const digest = await eventTableDigest(f);
        const before = await f.provider.describeKek(tenant);

        const progress: string[] = [];
        const result = await f.lifecycle.rotate(tenant, actor, {
          batchSize: 2,
          onProgress: (p) => progress.push(`${p.phase}:${p.done}`),
        });
        expect(result.newVersion).toBe(true);
        expect(result.toVersion).not.toBe(before.currentVersion);
        expect(result.rewrapped).toBe(4);
        expect(progress).toContain('rewrap:4');

        const usage = await f.keyStore.countByKekVersion(tenant);
        expect(usage.every((u) => u.kekVersion === result.toVersion)).toBe(true);
        const fresh = f.newLedger().ledger;
        for (let i = 0; i < 4; i++) {
          expect((await fresh.readStream(stream(`rot${i}`))).map(textOf)).toEqual([
            `${CANARY}-${i}`,
          ]);
        }
        // Only the key stream's new event was added: every earlier row is byte-for-byte the same.
        const rows = await f.db.client.query<{ n: number }>(
          `select count(*)::int as n from ll_events where stream_id = $1`,
          [keyStreamId(tenant)],
        );
        expect(rows[0]!.n).toBe(1);
        await tamperFreeDigestCheck(f, digest, keyStreamId(tenant));
      });

      it('resumes after a crash without making another KEK version, and old and new wraps both open meanwhile', async () => {
        for (let i = 0; i < 5; i++) {
          await f.ledger.append(tenant, stream(`rc${i}`), [plain(`r${i}`)], 'no_stream');
        }
        f.provider.failRewrapAfter = f.provider.calls.rewrap + 2;
        await expect(f.lifecycle.rotate(tenant, actor, { batchSize: 1 })).rejects.toThrow(
          'simulated crash',
        );
        f.provider.failRewrapAfter = undefined;
        const mid = await f.provider.describeKek(tenant);
        // Half-way: some keys have two wraps, some one; every event opens in a fresh process.
        const fresh = f.newLedger().ledger;
        for (let i = 0; i < 5; i++)
          expect((await fresh.readStream(stream(`rc${i}`))).map(textOf)).toEqual([`r${i}`]);

        const resumed = await f.lifecycle.rotate(tenant, actor);
        expect(resumed.newVersion).toBe(false);
        expect(resumed.toVersion).toBe(mid.currentVersion);
        expect(resumed.rewrapped).toBe(3);
        const again = f.newLedger().ledger;
        for (let i = 0; i < 5; i++)
          expect((await again.readStream(stream(`rc${i}`))).map(textOf)).toEqual([`r${i}`]);
      });
    });

    describe('shredding', () => {
      it('makes the payload unrecoverable, records who and why, and projections carry on', async () => {
        await f.ledger.append(tenant, stream('s'), [plain(CANARY)], 'no_stream');
        await f.ledger.append(tenant, stream('keep'), [plain('before')], 'no_stream');

        const seen: string[] = [];
        const sub = f.ledger.subscribe({
          filter: { streamPrefixes: [`note:${tenant}:`] },
          onEvent: async (e) => {
            seen.push(`${e.streamId.split(':')[2]}=${textOf(e)}`);
          },
        });

        const outcome = await f.lifecycle.shred({
          tenantId: tenant,
          streamId: stream('s'),
          reason: 'retention ended for case 42',
          actor,
        });
        expect(outcome.keyIds).toHaveLength(1);
        await f.ledger.append(tenant, stream('keep'), [plain('after')], 'any');

        const until = Date.now() + 10_000;
        while (seen.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        await sub.stop();
        await expect(sub.done).resolves.toBeUndefined();
        // The shredded event is delivered as shredded (or as plain text if it was read before the
        // shred); either way the subscription went on to the next events.
        expect(seen).toContain('keep=before');
        expect(seen).toContain('keep=after');

        const fresh = f.newLedger().ledger;
        const [opened] = await fresh.readStream(stream('s'));
        expect(opened!.body).toEqual({
          status: 'shredded',
          keyId: outcome.keyIds[0],
          epoch: '2026-11',
        });
        const [cached] = await f.ledger.readStream(stream('s'));
        expect(cached!.body.status).toBe('shredded');
        const wraps = await f.db.client.query<{ n: number }>(
          `select count(*)::int as n from ll_data_key_wraps w join ll_data_keys k using (key_id) where k.stream_id = $1`,
          [stream('s')],
        );
        expect(wraps[0]!.n).toBe(0);

        const [record] = await f.ledger.readStream(keyStreamId(tenant));
        expect(record!.type).toBe('DataKeysShredded');
        expect(record!.metadata['actor']).toEqual(actor);
        expect(JSON.parse(textOf(record!))).toEqual({
          streamId: stream('s'),
          epoch: null,
          keyIds: outcome.keyIds,
          reason: 'retention ended for case 42',
        });
      });

      it('is refused under a legal hold, and nothing is shredded; holds and the refusal are events', async () => {
        await f.ledger.append(tenant, stream('held'), [plain(CANARY)], 'no_stream');
        const { hold } = await f.lifecycle.placeHold(
          { tenantId: tenant, streamId: stream('held') },
          `${CANARY} litigation`,
          actor,
        );
        const refused = await f.lifecycle
          .shred({ tenantId: tenant, streamId: stream('held'), reason: 'r', actor })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(LegalHoldError);
        expect(refused).toMatchObject({ holdIds: [hold.holdId] });
        expect((await f.newLedger().ledger.readStream(stream('held'))).map(textOf)).toEqual([
          CANARY,
        ]);
        await expect(f.lifecycle.releaseHold(tenant, hold.holdId, ' ', actor)).rejects.toThrow(
          /reason/,
        );
        await f.lifecycle.releaseHold(tenant, hold.holdId, 'case closed', actor);
        const keyEvents = await f.ledger.readStream(keyStreamId(tenant));
        expect(keyEvents.map((e) => [e.type, JSON.parse(textOf(e)) as unknown])).toEqual([
          [
            'LegalHoldPlaced',
            {
              holdId: hold.holdId,
              streamId: stream('held'),
              streamPrefix: null,
              reason: `${CANARY} litigation`,
            },
          ],
          [
            'ShredRefused',
            { streamId: stream('held'), epoch: null, holdIds: [hold.holdId], reason: 'r' },
          ],
          ['LegalHoldReleased', { holdId: hold.holdId, reason: 'case closed' }],
        ]);
        expect(await f.holds.get(hold.holdId)).toMatchObject({
          placedBy: actor.id,
          placedEventId: keyEvents[0]!.eventId,
          releasedBy: actor.id,
          releasedEventId: keyEvents[2]!.eventId,
        });
        await f.lifecycle.shred({ tenantId: tenant, streamId: stream('held'), reason: 'r', actor });
        expect((await f.newLedger().ledger.readStream(stream('held'))).map(textOf)).toEqual([
          '<shredded>',
        ]);
      });
    });

    if (kind === 'postgres') {
      it('no canary, payload, shred or legal-hold reason appears anywhere in a pg_dump of the database', async () => {
        await f.ledger.append(tenant, stream('dump'), [plain(CANARY)], 'no_stream');
        await f.ledger.append(tenant, stream('dump2'), [plain(CANARY)], 'no_stream');
        await f.lifecycle.shred({
          tenantId: tenant,
          streamId: stream('dump2'),
          reason: `${CANARY}-reason`,
          actor,
        });
        await f.lifecycle.placeHold(
          { tenantId: tenant, streamId: stream('dump') },
          `${CANARY}-hold-reason`,
          actor,
        );
        const [schema] = await f.db.client.query<{ s: string }>('select current_schema() as s');
        const url = new URL(f.db.url!);
        url.searchParams.delete('options');
        const dump = execFileSync(
          'pg_dump',
          ['--data-only', '--schema', schema!.s, url.toString()],
          {
            maxBuffer: 256 * 1024 * 1024,
          },
        );
        expect(dump.length).toBeGreaterThan(1000);
        expect(dump.includes(Buffer.from('CANARY'))).toBe(false);
        // The dump does hold the events: the check above is not vacuous.
        expect(dump.includes(Buffer.from(stream('dump')))).toBe(true);
      });
    }
  });
}

/** Every row except the key stream's is the same as before. */
async function tamperFreeDigestCheck(f: LedgerFixture, before: string, exceptStream: string) {
  const [row] = await f.db.client.query<{ digest: string }>(
    `select md5(coalesce(string_agg(concat_ws('|', position, tx_id, stream_id, revision, event_id, type,
       schema_version, tenant_id, recorded_at, metadata::text, encode(data, 'hex')), ',' order by position), '')) as digest
     from ll_events where stream_id <> $1`,
    [exceptStream],
  );
  expect(row!.digest).toBe(before);
}
