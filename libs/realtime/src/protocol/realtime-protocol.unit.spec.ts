import { AccessDeniedError } from '@ledgerline/identity';
import {
  LedgerlineError,
  ConflictError,
  loadConfig,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from '@ledgerline/kernel';
import { validateInput } from './input-validation';
import { describeError, InvalidInputError, RealtimeRequestError } from './realtime-errors';
import { errorReply, okReply, parseRequest, pushFrame } from './realtime-frames';
import { HelloInput, PingInput, SyncInput } from './session.dto';
import { DEFAULT_REALTIME_LIMITS } from '../realtime.config';

describe('parseRequest', () => {
  // Issue 10, item 12: a body nested 3,000 deep reached the recursive validator.
  it('refuses a frame nested deeper than the cap as invalid_frame, echoing its ref', () => {
    const deep = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
    const parsed = parseRequest(`{"v":1,"op":"send","ref":"deep-1","text":${deep}}`);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.ref).toBe('deep-1');
    expect(parsed.error.code).toBe('invalid_frame');
    expect(parsed.error.message).toMatch(/nests deeper than 32 levels/);
    expect(
      parseRequest(`{"v":1,"op":"send","ref":"ok","x":${'['.repeat(30)}${']'.repeat(30)}}`).ok,
    ).toBe(true);
  });

  it('reads a well-formed envelope and hands the rest over as the body', () => {
    expect(parseRequest('{"v":1,"op":"send","ref":"c-1","text":"hi"}')).toEqual({
      ok: true,
      request: { ref: 'c-1', op: 'send', body: { text: 'hi' } },
    });
  });

  it.each([
    ['not JSON', '{"v":1,', null, 'invalid_frame'],
    ['an array', '[1]', null, 'invalid_frame'],
    ['a string', '"hello"', null, 'invalid_frame'],
    ['no ref', '{"v":1,"op":"ping"}', null, 'invalid_frame'],
    ['a ref with a space', '{"v":1,"op":"ping","ref":"a b"}', null, 'invalid_frame'],
    ['a ref too long', `{"v":1,"op":"ping","ref":"${'r'.repeat(65)}"}`, null, 'invalid_frame'],
    ['another version', '{"v":2,"op":"ping","ref":"r"}', 'r', 'unsupported_version'],
    ['no version', '{"op":"ping","ref":"r"}', 'r', 'unsupported_version'],
    ['no op', '{"v":1,"ref":"r"}', 'r', 'invalid_frame'],
    ['an op that is not a name', '{"v":1,"op":"a.b","ref":"r"}', 'r', 'invalid_frame'],
  ])('refuses %s, echoing the ref when there is one', (_what, text, ref, code) => {
    const parsed = parseRequest(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.ref).toBe(ref);
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.message).not.toContain(text);
  });

  it('writes replies and pushes with the version and type', () => {
    expect(JSON.parse(okReply('r', { a: 1 }))).toEqual({
      v: 1,
      type: 'reply',
      ref: 'r',
      ok: true,
      a: 1,
    });
    expect(
      JSON.parse(errorReply(null, { code: 'busy', message: 'later', retryable: true })),
    ).toEqual({
      v: 1,
      type: 'reply',
      ref: null,
      ok: false,
      error: { code: 'busy', message: 'later', retryable: true },
    });
    expect(JSON.parse(pushFrame('stale', { conversationId: 'c', revision: 3 }))).toEqual({
      v: 1,
      type: 'stale',
      conversationId: 'c',
      revision: 3,
    });
  });
});

describe('validateInput', () => {
  it('answers an instance of the DTO for valid input', () => {
    const input = validateInput(SyncInput, {
      conversations: [{ conversationId: '0193a3c2-7b1e-7cc0-8f00-000000000001', revision: 4 }],
      discover: false,
    });
    expect(input).toBeInstanceOf(SyncInput);
    expect(input.conversations?.[0]?.revision).toBe(4);
  });

  it('names every failed field and rule, nested ones by path, never the value', () => {
    const secret = 'Jane Roe MRN 00451234';
    let error: unknown;
    try {
      validateInput(SyncInput, {
        conversations: [{ conversationId: secret, revision: -2 }, 'x'],
        discover: 'yes',
        extra: secret,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    const problems = (error as InvalidInputError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        { field: 'extra', constraints: ['whitelistValidation'] },
        { field: 'discover', constraints: ['isBoolean'] },
        { field: 'conversations.0.conversationId', constraints: ['isUuid'] },
        { field: 'conversations.0.revision', constraints: ['min'] },
      ]),
    );
    expect(JSON.stringify(problems)).not.toContain('Jane');
    expect((error as Error).message).not.toContain('Jane');
  });

  it('refuses unknown fields on an operation without any', () => {
    expect(() => validateInput(PingInput, {})).not.toThrow();
    expect(() => validateInput(PingInput, { to: 'mars' })).toThrow(InvalidInputError);
    expect(() => validateInput(HelloInput, { deviceId: 'phone 1' })).toThrow(InvalidInputError);
  });
});

// Issue 10, item 14: 1,000 entries did not fit the default 64 KiB frame (the connection closed 1009).
describe('the sync limit and the frame cap', () => {
  it('lets the largest sync the schema accepts fit the default frame cap, and refuses one more', () => {
    const entry = {
      conversationId: '01936c6e-2f1a-7b3c-8d4e-5f6a7b8c9d0e',
      revision: Number.MAX_SAFE_INTEGER,
    };
    const max = DEFAULT_REALTIME_LIMITS.maxSyncConversations;
    const conversations = Array.from({ length: max }, () => entry);
    const frame = JSON.stringify({ v: 1, op: 'sync', ref: 'r'.repeat(64), conversations });
    expect(Buffer.byteLength(frame)).toBeLessThan(
      loadConfig({ NODE_ENV: 'test' }).realtime.maxFrameBytes,
    );
    expect(() => validateInput(SyncInput, { conversations })).not.toThrow();
    expect(() => validateInput(SyncInput, { conversations: [...conversations, entry] })).toThrow(
      InvalidInputError,
    );
  });
});

describe('describeError', () => {
  it('maps Ledgerline errors by kind, keeping their codes as reasons', () => {
    expect(describeError(new NotFoundError('no such thing'))).toEqual({
      code: 'not_found',
      message: 'no such thing',
      retryable: false,
      reason: 'not_found',
    });
    expect(describeError(new ValidationError('text: too long', 'text'))).toMatchObject({
      code: 'invalid_input',
      field: 'text',
      retryable: false,
    });
    expect(describeError(new ConflictError('moved'))).toMatchObject({ code: 'conflict' });
    expect(describeError(new RateLimitedError('slow down', 250))).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 250,
    });
    expect(describeError(new UnavailableError('database down'))).toMatchObject({
      code: 'unavailable',
      retryable: true,
    });
    expect(
      describeError(new AccessDeniedError('conversation.read', 'missing_permission', true)),
    ).toMatchObject({ code: 'forbidden', reason: 'missing_permission' });
    expect(describeError(new RealtimeRequestError('busy', 'later', {}, true))).toEqual({
      code: 'busy',
      message: 'later',
      retryable: true,
    });
  });

  // Issue 10, item 12: a RangeError from validation was answered `{"ok":false}` with no error.
  it('describes a stack overflow while reading a request as invalid_frame', () => {
    let overflow: unknown;
    const recurse = (n: number): number => recurse(n + 1) + 1;
    try {
      recurse(0);
    } catch (error) {
      overflow = error;
    }
    expect(overflow).toBeInstanceOf(RangeError);
    expect(describeError(overflow)).toMatchObject({ code: 'invalid_frame', retryable: false });
    class IntegrityBroken extends LedgerlineError {
      readonly code = 'integrity_violation';
      readonly failure = 'chain_broken';
    }
    expect(describeError(new IntegrityBroken('stream conversation:t:c revision 4'))).toEqual({
      code: 'integrity_failed',
      message: 'stored events failed their integrity check; nothing of them is sent',
      retryable: false,
      reason: 'chain_broken',
    });
    expect(describeError(new RangeError('Invalid time value'))).toBeUndefined();
  });

  it('leaves anything else to be reported as internal', () => {
    expect(describeError(new Error('SELECT * FROM patients'))).toBeUndefined();
    expect(describeError('string')).toBeUndefined();
  });
});
