import { ConflictError, NotFoundError, ValidationError } from '@ledgerline/kernel';

export type FileInputProblem =
  | 'missing'
  | 'too_long'
  | 'path_separator'
  | 'control_character'
  | 'reserved_name'
  | 'invalid_format'
  | 'type_not_allowed'
  | 'type_mismatch'
  | 'too_many';

/** A field of a file request that can never succeed as sent. Names the field, never the value. */
export class InvalidFileInput extends ValidationError {
  override readonly code = 'invalid_file_input';
  constructor(
    field: string,
    readonly problem: FileInputProblem,
  ) {
    super(`${field}: ${problem}`, field);
  }
}

export const FileRefusalReason = {
  ConversationNotFound: 'conversation_not_found',
  NotAMember: 'not_a_member',
  Archived: 'archived',
  NotAllowed: 'not_allowed',
} as const;
export type FileRefusalReason = (typeof FileRefusalReason)[keyof typeof FileRefusalReason];

/** The conversation does not let this actor do that with a file. */
export class FileRefused extends ConflictError {
  override readonly code = 'file_refused';
  constructor(
    readonly conversationId: string,
    readonly reason: FileRefusalReason,
  ) {
    super(`conversation ${conversationId}: ${reason}`);
  }
}

/**
 * No such file for this caller: never uploaded, another tenant's, another conversation's,
 * removed, or the caller is not a member. One error for all, so ids cannot be probed.
 */
export class FileNotFoundError extends NotFoundError {
  override readonly code = 'file_not_found';
  constructor(readonly fileId: string) {
    super(`no file ${fileId}`);
  }
}
