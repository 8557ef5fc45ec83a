import { Pause } from './pause';

describe('Pause', () => {
  it('ends a sleep when interrupted, long before its time', async () => {
    jest.useFakeTimers();
    try {
      const pause = new Pause();
      let woke = false;
      const sleeping = pause.sleep(60_000).then(() => (woke = true));
      await Promise.resolve();
      expect(woke).toBe(false);
      pause.interrupt();
      await sleeping;
      expect(woke).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends a sleep when its time has passed; an interrupt with none in progress does nothing', async () => {
    jest.useFakeTimers();
    try {
      const pause = new Pause();
      pause.interrupt();
      const sleeping = pause.sleep(1_000);
      jest.advanceTimersByTime(1_000);
      await expect(sleeping).resolves.toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
