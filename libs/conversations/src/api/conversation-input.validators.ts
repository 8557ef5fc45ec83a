import { ValidateBy, type ValidationOptions } from 'class-validator';
import { decodePosition } from '@ledgerline/kernel';
import { isValidMemberId } from '../domain/conversation.validation';

// Edge validators for what the GraphQL inputs carry. The edge keeps only their names
// (`isMemberId`, …) in errors, never the value.

/** A member (user or agent) id as the decider accepts it: printable ASCII, no `<`, `>` or space. */
export function IsMemberId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMemberId',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isValidMemberId(value),
        defaultMessage: () => 'must be a member id',
      },
    },
    options,
  );
}

/** Printable ASCII without spaces, 1 to 128 characters: a client message id, a device id. */
const CLIENT_ID = /^[!-~]{1,128}$/;

export function IsClientId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isClientId',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && CLIENT_ID.test(value),
        defaultMessage: () => 'must be 1 to 128 printable ASCII characters without spaces',
      },
    },
    options,
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Well-formed Unicode: no lone surrogate (what `"\ud800"` in JSON decodes to), and no U+FFFD,
 * which is what the JSON parser makes of bytes that are not UTF-8. Refusing U+FFFD means a client
 * that sends another encoding gets BAD_USER_INPUT instead of a message silently stored as
 * replacement characters. Control characters are the decider's to refuse (with its own reason).
 */
export function IsWellFormedText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWellFormedText',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          !LONE_SURROGATE.test(value) &&
          !value.includes(REPLACEMENT_CHARACTER),
        defaultMessage: () => 'must be well-formed UTF-8 text',
      },
    },
    options,
  );
}

/** A position token (`encodePosition`): a paging cursor or an ack's position. */
export function IsPositionToken(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPositionToken',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && decodePosition(value) !== undefined,
        defaultMessage: () => 'must be a position token',
      },
    },
    options,
  );
}
