import { availableDatabases, openTestDatabase } from '@ledgerline/testing';
import {
  MigrationDriftError,
  SchemaBehindError,
  migrate,
  migrateSchema,
  verifySchema,
  type Migration,
} from './index';

const m1: Migration = {
  version: 1,
  name: 'one',
  sql: 'create table mig_one (id int primary key);',
};
const m2: Migration = { version: 2, name: 'two', sql: 'alter table mig_one add column note text;' };

describe.each(availableDatabases())('migrate on %s', (kind) => {
  it('applies pending migrations once, in order, and is a no-op the second time', async () => {
    const db = await openTestDatabase(kind);
    try {
      expect((await migrate(db.client, 'test', [m2, m1])).applied).toEqual([
        'test/1-one',
        'test/2-two',
      ]);
      expect((await migrate(db.client, 'test', [m1, m2])).applied).toEqual([]);
      await db.client.query('insert into mig_one (id, note) values (1, $1)', ['ok']);
    } finally {
      await db.close();
    }
  });

  it('refuses an applied migration whose text changed, and a database newer than the code', async () => {
    const db = await openTestDatabase(kind);
    try {
      await migrate(db.client, 'test', [m1, m2]);
      await expect(
        migrate(db.client, 'test', [m1, { ...m2, sql: `${m2.sql} -- edited` }]),
      ).rejects.toBeInstanceOf(MigrationDriftError);
      await expect(migrate(db.client, 'test', [m1])).rejects.toThrow(/does not know/);
    } finally {
      await db.close();
    }
  });

  it('rolls back a failing migration completely', async () => {
    const db = await openTestDatabase(kind);
    try {
      const bad: Migration = {
        version: 2,
        name: 'bad',
        sql: 'create table mig_half (id int); select no_such_function();',
      };
      await expect(migrate(db.client, 'test', [m1, bad])).rejects.toThrow();
      const tables = await db.client.query(
        `select 1 from information_schema.tables where table_name in ('mig_one', 'mig_half')`,
      );
      expect(tables).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('verifies without changing anything: behind, drifted, then current', async () => {
    const db = await openTestDatabase(kind);
    try {
      const parts = [
        { namespace: 'test', migrations: [m1, m2] },
        {
          namespace: 'other',
          migrations: [{ version: 1, name: 'o', sql: 'create table mig_o (id int);' }],
        },
      ];
      // No schema at all: a typed error saying what to run, and no table created by the check.
      await expect(verifySchema(db.client, parts)).rejects.toBeInstanceOf(SchemaBehindError);
      expect(
        await db.client.query(
          `select 1 from information_schema.tables
           where table_schema = current_schema() and table_name = 'll_schema_migrations'`,
        ),
      ).toEqual([]);
      await migrate(db.client, 'test', [m1]);
      await expect(verifySchema(db.client, parts)).rejects.toThrow(/test\/2-two, other\/1-o/);
      expect((await migrateSchema(db.client, parts)).applied).toEqual(['test/2-two', 'other/1-o']);
      await expect(verifySchema(db.client, parts)).resolves.toBeUndefined();
      await expect(
        verifySchema(db.client, [
          { namespace: 'test', migrations: [m1, { ...m2, sql: 'select 1' }] },
        ]),
      ).rejects.toBeInstanceOf(MigrationDriftError);
    } finally {
      await db.close();
    }
  });
});
