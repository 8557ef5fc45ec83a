/**
 * How long a hook may take to start what a suite needs: a server (in this process or its own), a
 * database (PGlite compiles its WASM and runs initdb), a CLI run against them. Seconds on a quiet
 * machine and minutes while the cores are busy: real, bounded work, each awaited on its own signal
 * (the server's "listening" line, an open connection, the process's exit). This is only the bound
 * after which a start that hangs counts as a failure, never a budget the start is expected to meet.
 */
export const STARTUP_TIMEOUT_MS = 300_000;

/**
 * A test of an e2e spec (set for the whole file with `jest.setTimeout`): it drives a booted server
 * or the compiled CLI through many requests or runs, real and bounded work that takes many times
 * longer while the cores are busy. Its waits are on signals (a reply, a frame, a log line).
 */
export const E2E_TEST_TIMEOUT_MS = 300_000;
