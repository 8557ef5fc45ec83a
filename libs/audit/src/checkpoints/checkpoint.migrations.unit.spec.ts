import { migrationChecksum } from '@ledgerline/database';
import { checkpointMigrations } from './checkpoint.migrations';

// Applied migrations are immutable: the runner refuses to start when one's text changed. This pins
// the checksums of the migrations already released, so a refactor of how their SQL is written
// (e.g. the shared append-only triggers) cannot change what databases have applied.
const RELEASED: Readonly<Record<number, string>> = {
  1: '63e9b674343fcb94d8c1fc75eb2990429d86ed6fb3372403bb409c979b22fecc',
};

describe('checkpoint migrations', () => {
  it.each(Object.entries(RELEASED))('migration %s keeps its released checksum', (version, sum) => {
    const migration = checkpointMigrations.find((m) => m.version === Number(version));
    expect(migration && migrationChecksum(migration)).toBe(sum);
  });
});
