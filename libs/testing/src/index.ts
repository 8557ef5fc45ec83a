export {
  TEST_DATABASE_URL,
  availableDatabases,
  openTestDatabase,
  type TestDatabase,
  type TestDatabaseKind,
} from './test-database';
export { describeWhenEnv } from './skip';
export { DeciderSpecification, type Decider, type DecisionOutcome } from './decider-spec';
export { CountingProvider, openLedgerFixture, type LedgerFixture } from './ledger-fixture';
export { CollectedAccessRecords } from './collected-access-records';
