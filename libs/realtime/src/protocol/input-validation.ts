import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError as ClassValidationError } from 'class-validator';
import { InvalidInputError, type FieldProblem } from './realtime-errors';

/**
 * How every operation's input is validated: only declared fields (an unknown field is refused,
 * not ignored), and errors that keep the failed rules' names but never the value or the object.
 */
const VALIDATION_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: false,
  validationError: { target: false, value: false },
} as const;

/**
 * The frame's body as an instance of the operation's class-validator DTO, or InvalidInputError
 * naming each failed field (nested ones as `conversations.0.revision`) and rule. Synchronous, so a
 * connection validates its frames in the order they came (DTOs use no async rules).
 */
export function validateInput<T extends object>(
  dto: new () => T,
  body: Readonly<Record<string, unknown>>,
): T {
  const instance = plainToInstance(dto, body);
  const errors = validateSync(instance, VALIDATION_OPTIONS);
  if (errors.length > 0) throw new InvalidInputError(problemsOf(errors));
  return instance;
}

function problemsOf(errors: readonly ClassValidationError[], prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = `${prefix}${error.property}`;
    const constraints = Object.keys(error.constraints ?? {});
    if (constraints.length > 0) out.push({ field, constraints });
    if (error.children?.length) out.push(...problemsOf(error.children, `${field}.`));
  }
  return out;
}
