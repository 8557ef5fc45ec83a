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
export {
  SERVER_MAIN,
  assertBuilt,
  devToken,
  clientHeaders,
  graphqlRequest,
  launchServerProcess,
  serverListening,
  startServerProcess,
  type ClientHeaders,
  type DevTokenFor,
  type LaunchedServer,
  type ServerProcess,
} from './server-process';
export { CLI_MAIN, runCli, type CliRun } from './cli-process';
export { E2E_TEST_TIMEOUT_MS, STARTUP_TIMEOUT_MS } from './timeouts';
export { Arrivals, probeUntilLive } from './arrivals';
export {
  TURN_BINARIES_MISSING,
  LOCAL_REDIS_MISSING,
  describeWithTurnBinaries,
  runUclient,
  startCoturn,
  startEchoPeer,
  waitForEcho,
  waitForStun,
  which,
  type CoturnOptions,
  type Running,
  type UclientRun,
} from './turn-binaries';
