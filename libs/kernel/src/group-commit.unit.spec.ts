import { GroupCommit, type PendingItem } from './group-commit';

/** A sender whose groups finish when the test says so. */
function heldSender() {
  const groups: number[][] = [];
  const finish: (() => void)[] = [];
  const send = (group: readonly PendingItem<number, string>[]) => {
    groups.push(group.map((p) => p.item));
    return new Promise<void>((resolve) => {
      finish.push(() => {
        for (const p of group) p.resolve(`done ${p.item}`);
        resolve();
      });
    });
  };
  return { groups, finish, send };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('sends the first item alone, then what arrived meanwhile as one group, in order', async () => {
    const s = heldSender();
    const groups = new GroupCommit(s.send, { maxInFlight: 1, maxItems: 10 });
    const first = groups.submit(1);
    const later = [groups.submit(3), groups.submit(2), groups.submit(4)];
    expect(s.groups).toEqual([[1]]);
    s.finish[0]!();
    expect(await first).toBe('done 1');
    await tick();
    expect(s.groups).toEqual([[1], [3, 2, 4]]);
    s.finish[1]!();
    expect(await Promise.all(later)).toEqual(['done 3', 'done 2', 'done 4']);
  });

  it('keeps to maxInFlight, maxItems and maxWeight, and orders within a group (stable)', async () => {
    const s = heldSender();
    const groups = new GroupCommit(s.send, {
      maxInFlight: 2,
      maxItems: 3,
      maxWeight: 10,
      weigh: (n) => n,
      order: (a, b) => (a % 2) - (b % 2),
    });
    const all = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => groups.submit(n));
    expect(s.groups).toEqual([[1], [2]]);
    s.finish[0]!();
    await tick();
    // 3 + 4 fit in 10, 5 would not; evens first, stably.
    expect(s.groups[2]).toEqual([4, 3]);
    s.finish[1]!();
    await tick();
    expect(s.groups[3]).toEqual([5]);
    s.finish[2]!();
    s.finish[3]!();
    await tick();
    await tick();
    expect(s.groups[4]).toEqual([6]);
    expect(s.groups[5]).toEqual([7]);
    s.finish[4]!();
    s.finish[5]!();
    await tick();
    expect(s.groups[6]).toEqual([8]);
    s.finish[6]!();
    expect(await Promise.all(all)).toHaveLength(8);
  });

  it('rejects every item of a group whose send fails, and goes on with the next group', async () => {
    let calls = 0;
    const groups = new GroupCommit<number, void>(
      (group) => {
        calls += 1;
        if (calls === 1) return Promise.reject(new Error('database down'));
        for (const p of group) p.resolve();
        return Promise.resolve();
      },
      { maxInFlight: 1, maxItems: 10 },
    );
    const failed = groups.submit(1);
    const next = groups.submit(2);
    await expect(failed).rejects.toThrow('database down');
    await expect(next).resolves.toBeUndefined();
  });
});
