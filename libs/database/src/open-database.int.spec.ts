import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STARTUP_TIMEOUT_MS } from '@ledgerline/testing';
import { openDatabase } from './open-database';
import { DatabaseInUseError } from './sql-errors';

describe('openDatabase on the embedded default', () => {
  it(
    'refuses a second process on the same data directory until the first closes',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-lock-'));
      try {
        const first = await openDatabase({ dataDir });
        await first.query('create table kept (n int)');
        await expect(openDatabase({ dataDir })).rejects.toBeInstanceOf(DatabaseInUseError);
        await first.close();

        const second = await openDatabase({ dataDir });
        expect(await second.query('select count(*)::int as n from kept')).toEqual([{ n: 0 }]);
        await second.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      // Two embedded databases created on disk, one after the other: each is seconds of WASM work
      // that a busy machine stretches (bounded, real work; see STARTUP_TIMEOUT_MS).
    },
    2 * STARTUP_TIMEOUT_MS,
  );
});
