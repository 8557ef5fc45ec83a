/**
 * Registers a suite that needs something from the environment. Without it the suite is still
 * registered, as skipped, with the reason in its name, so a run shows what it did not cover and
 * a skipped suite can never pass as if it ran.
 */
export function describeWhenEnv(variable: string, name: string, fn: () => void): void {
  if (process.env[variable]) {
    describe(name, fn);
  } else {
    describe.skip(`${name} [skipped: ${variable} is not set]`, fn);
  }
}
