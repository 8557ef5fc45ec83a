import type { ApolloServerPlugin } from '@apollo/server';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { EdgeError } from '../errors/edge-error';

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
}

/** A parsed and schema-validated operation, with the variables the client sent. */
export interface OperationToCheck {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly operationName?: string | null;
}

/**
 * The query-cost guard of both transports, run after validation and before anything executes:
 * depth first (cheap, and it bounds the cost walk), then cost. Cost is 1 per field plus its
 * children, unless the field declares `@Field({ complexity })` (a number, or a function of the
 * arguments and `childComplexity`, e.g. `({ args, childComplexity }) => args.first * childComplexity`).
 *
 * Returns the refusal (QUERY_TOO_DEEP, QUERY_TOO_COMPLEX, or BAD_USER_INPUT when the variables do
 * not fit their declared types and the cost cannot be known), or undefined.
 */
export function checkOperationLimits(
  operation: OperationToCheck,
  limits: OperationLimits,
): EdgeError | undefined {
  let depth = 0;
  validate(operation.schema, operation.document, [
    maxDepthRule({
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: true,
      propagateOnRejection: false,
      onAccept: [(_context, details: { n: number }) => (depth = Math.max(depth, details.n))],
      onReject: [() => (depth = Math.max(depth, limits.maxDepth + 1))],
    }),
  ]);
  if (depth > limits.maxDepth) {
    return new EdgeError(
      'QUERY_TOO_DEEP',
      `The operation nests fields deeper than the limit of ${limits.maxDepth} levels.`,
      { details: { limit: limits.maxDepth }, status: 400 },
    );
  }

  let cost: number;
  try {
    cost = getComplexity({
      schema: operation.schema,
      query: operation.document,
      variables: { ...operation.variables },
      ...(operation.operationName ? { operationName: operation.operationName } : {}),
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    if (/maximum allowed number of nodes/.test(error.message)) return tooComplex(limits);
    // A variable that does not coerce: graphql-js's message quotes its value, so only its name
    // is kept. Execution would refuse the same variables; nothing has run.
    const variable = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)"/.exec(error.message)?.[1];
    return new EdgeError(
      'BAD_USER_INPUT',
      variable
        ? `Variable "${variable}" has a value that does not match its type.`
        : 'The variables do not match their declared types.',
      { details: variable ? { field: variable } : {}, status: 400 },
    );
  }
  if (cost > limits.maxCost) return tooComplex(limits, cost);
  return undefined;
}

function tooComplex(limits: OperationLimits, cost?: number): EdgeError {
  return new EdgeError(
    'QUERY_TOO_COMPLEX',
    cost === undefined
      ? `The operation is too large to cost; the limit is ${limits.maxCost}.`
      : `The operation costs ${cost}, over the limit of ${limits.maxCost}.`,
    { details: { limit: limits.maxCost, ...(cost === undefined ? {} : { cost }) }, status: 400 },
  );
}

/** Runs {@link checkOperationLimits} on every HTTP operation, once Apollo has validated it. */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: (context) => {
          const refusal = checkOperationLimits(
            {
              schema: context.schema,
              document: context.document,
              variables: context.request.variables,
              operationName: context.request.operationName,
            },
            limits,
          );
          return refusal ? Promise.reject(refusal) : Promise.resolve();
        },
      }),
  };
}
