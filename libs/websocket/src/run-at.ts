import type { Clock } from '@ledgerline/kernel';

/** setTimeout's ceiling (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Runs `action` at `when` by `clock`, however far away (a token's expiry); returns the cancel
 * function. A time already past runs the action at once. The timer does not keep the process alive.
 */
export function runAt(clock: Clock, when: Date, action: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = () => {
    if (cancelled) return;
    const delay = when.getTime() - clock.now().getTime();
    if (delay <= 0) return action();
    timer = setTimeout(arm, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
