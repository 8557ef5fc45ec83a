import { templatesProblems } from './push-templates';
import { retryDelayMs, givesUp } from './retry-schedule';

const valid = {
  message: { title: 'New message', body: { one: 'A message', other: '{count} messages' } },
  mention: { title: 'Mention', body: { one: 'You were mentioned', other: '{count} mentions' } },
};

describe('push templates', () => {
  it.each(['{text}', '{title}', '{senderName}', '{fileName}', '{ count }', 'open {'])(
    'refuses a template naming %s: only {count}, {kind} and {conversationId} exist',
    (text) => {
      const problems = templatesProblems({
        ...valid,
        message: { ...valid.message, body: { ...valid.message.body, other: `Hi ${text}` } },
      });
      expect(problems).toEqual([expect.objectContaining({ path: 'templates.message.body.other' })]);
    },
  );

  it('refuses unknown and missing kinds', () => {
    expect(templatesProblems({ message: valid.message, call: valid.mention })).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'templates.call' }),
        expect.objectContaining({ path: 'templates.mention' }),
      ]),
    );
  });
});

describe('retry schedule', () => {
  const schedule = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 4 };
  it('doubles its ceiling per failure up to the maximum, jittered, and at least what the provider asked', () => {
    expect(retryDelayMs(schedule, 1, 0.999)).toBe(999);
    expect(retryDelayMs(schedule, 3, 0.5)).toBe(2_000);
    expect(retryDelayMs(schedule, 20, 0.5)).toBe(30_000);
    expect(retryDelayMs(schedule, 1, 0, 5_000)).toBe(5_000);
    expect(retryDelayMs(schedule, 1, 0, 10 * 60_000)).toBe(60_000);
  });
  it('gives up after the last attempt', () => {
    expect(givesUp(schedule, 3)).toBe(false);
    expect(givesUp(schedule, 4)).toBe(true);
  });
});
