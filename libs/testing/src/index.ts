export {
  TEST_DATABASE_URL,
  availableDatabases,
  openTestDatabase,
  type TestDatabase,
  type TestDatabaseKind,
} from './test-database';
export { describeWhenEnv } from './skip';
