import { InvalidContentReasonError } from './auditor.errors';

/** Longest reason an auditor may state for reading content. */
export const MAX_CONTENT_REASON_CHARS = 500;

/**
 * The reason an auditor states for reading a conversation's content (permission `audit.content`):
 * undefined when none was given (the answer is then metadata only). It is kept in the access
 * record and shown in the audit log, so it names a case or a request, not a patient.
 */
export function parseContentReason(value: string | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const reason = value.trim();
  if (reason.length === 0) throw new InvalidContentReasonError('empty');
  if ([...reason].length > MAX_CONTENT_REASON_CHARS) {
    throw new InvalidContentReasonError('too_long', MAX_CONTENT_REASON_CHARS);
  }
  if (/\p{Cc}/u.test(reason)) throw new InvalidContentReasonError('control_character');
  return reason;
}
