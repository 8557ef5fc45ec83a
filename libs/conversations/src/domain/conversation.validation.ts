import { isValidTenantId as isKernelTenantId } from '@ledgerline/kernel';
import { InvalidConversationInput } from './conversation.errors';

// Checks the decider applies to what users type. The edge validates too, but a decider that
// trusted its input could write an event no reader can display safely. Errors name the field and
// the problem, never the value.

/** Member (user or agent) ids: printable ASCII without spaces, `<` or `>` (so `<@id>` parses). */
const MEMBER_ID = /^[!-;=?-~]{1,128}$/;
/** Ids a client chooses (client message ids, device ids): printable ASCII without spaces. */
const CLIENT_ID = /^[!-~]{1,128}$/;
/** Fits a stream id (`conversation:<tenant>:<id>` stays within 200 characters). */
const CONVERSATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const MENTION = /<@([!-;=?-~]{1,128})>/g;
const WHITESPACE = /\s/u;

/** Longest emoji (or `:shortcode:`), in code points: ZWJ sequences with skin tones fit. */
export const MAX_EMOJI_CHARS = 32;

export function isValidMemberId(id: string): boolean {
  return MEMBER_ID.test(id);
}

export function isValidConversationId(id: string): boolean {
  return CONVERSATION_ID.test(id);
}

export function isValidTenantId(id: string): boolean {
  return isKernelTenantId(id);
}

export function assertTenantId(field: string, id: string): void {
  if (!isValidTenantId(id)) throw new InvalidConversationInput(field, 'invalid_format');
}

export function assertConversationId(field: string, id: string): void {
  if (!isValidConversationId(id)) throw new InvalidConversationInput(field, 'invalid_format');
}

export function assertMemberId(field: string, id: string): void {
  if (!isValidMemberId(id)) throw new InvalidConversationInput(field, 'invalid_format');
}

export function assertClientId(field: string, id: string): void {
  if (!CLIENT_ID.test(id)) throw new InvalidConversationInput(field, 'invalid_format');
}

interface TextRules {
  readonly maxChars: number;
  /** Message text and reasons keep `\n` and `\t`; titles and emoji allow no control character. */
  readonly lineBreaks: boolean;
}

/**
 * Non-empty after trimming, at most `maxChars` code points, well-formed UTF-16 (no lone
 * surrogate), and no control character (C0, DEL, C1) except `\n` and `\t` where allowed.
 */
export function assertText(field: string, text: string, rules: TextRules): void {
  let chars = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    // A lone surrogate iterates as a single code unit in the surrogate range.
    if (c >= 0xd800 && c <= 0xdfff) throw new InvalidConversationInput(field, 'malformed_unicode');
    if (isControl(c) && !(rules.lineBreaks && (c === 0x0a || c === 0x09))) {
      throw new InvalidConversationInput(field, 'control_character');
    }
    chars++;
  }
  if (text.trim().length === 0) throw new InvalidConversationInput(field, 'empty');
  if (chars > rules.maxChars) throw new InvalidConversationInput(field, 'too_long', rules.maxChars);
}

/** An emoji or shortcode: short, no whitespace, no control character, well-formed. */
export function assertEmoji(field: string, emoji: string): void {
  if (emoji.length === 0) throw new InvalidConversationInput(field, 'empty');
  if (WHITESPACE.test(emoji)) throw new InvalidConversationInput(field, 'whitespace');
  assertText(field, emoji, { maxChars: MAX_EMOJI_CHARS, lineBreaks: false });
}

/** Member ids mentioned as `<@id>` in `text`, each once, in order of first mention. */
export function extractMentions(text: string): string[] {
  const ids = new Set<string>();
  for (const m of text.matchAll(MENTION)) ids.add(m[1]!);
  return [...ids];
}

function isControl(c: number): boolean {
  return c <= 0x1f || (c >= 0x7f && c <= 0x9f);
}
