import {
  Injectable,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError as ClassValidatorError,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { InvalidArgumentsError, type ArgumentProblem } from '../errors/edge-error';

/**
 * How arguments are validated at the edge: class-validator on every argument whose type is a
 * class (GraphQL input and args types, HTTP DTOs); unknown properties refused; plain objects
 * turned into the class so resolvers receive instances.
 *
 * `whitelist` means every property of an input class needs at least one class-validator decorator
 * (`@IsOptional()`, `@Allow()` when nothing else fits): an undecorated property is refused as
 * `whitelistValidation`. Errors keep field paths and constraint names only (see
 * InvalidArgumentsError); values never reach an error or a log.
 */
export const EDGE_VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors: ClassValidatorError[]) =>
    new InvalidArgumentsError(flattenProblems(errors)),
};

/**
 * Nest's ValidationPipe with {@link EDGE_VALIDATION_OPTIONS}; the GraphQL edge registers it as the
 * global pipe. Field paths start at the argument's name (`input.email`).
 */
@Injectable()
export class EdgeValidationPipe extends ValidationPipe {
  constructor() {
    super(EDGE_VALIDATION_OPTIONS);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      return (await super.transform(value, metadata)) as unknown;
    } catch (error) {
      if (error instanceof InvalidArgumentsError && metadata.data) {
        throw error.within(metadata.data);
      }
      throw error;
    }
  }
}

function flattenProblems(errors: readonly ClassValidatorError[], prefix = ''): ArgumentProblem[] {
  const problems: ArgumentProblem[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = Object.keys(error.constraints ?? {});
    if (constraints.length > 0) problems.push({ field, constraints });
    if (error.children?.length) problems.push(...flattenProblems(error.children, field));
  }
  return problems;
}
