import type { ApolloServerPlugin } from '@apollo/server';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  getOperationAST,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@ledgerline/kernel';
import type { EdgeContext } from '../edge-context';
import { EdgeError } from '../errors/edge-error';
import type { UserRequestRate } from './user-request-rate';

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  /** Root mutation fields one request may run (each alias counts). */
  readonly maxMutations: number;
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
 * Returns the refusal (BAD_REQUEST when `operationName` picks no operation,
 * TOO_MANY_MUTATIONS, QUERY_TOO_DEEP, QUERY_TOO_COMPLEX, or BAD_USER_INPUT when the variables do
 * not fit their declared types and the cost cannot be known), or undefined.
 */
export function checkOperationLimits(
  operation: OperationToCheck,
  limits: OperationLimits,
): EdgeError | undefined {
  // Variables are coerced recursively: a value nested thousands deep must not reach that.
  if (exceedsJsonDepth(operation.variables)) {
    return new EdgeError(
      'BAD_USER_INPUT',
      `The variables nest deeper than ${MAX_JSON_DEPTH} levels.`,
      { status: 400 },
    );
  }
  // Which operation runs is settled first: the cost walk below assumes there is one.
  const selected = getOperationAST(operation.document, operation.operationName ?? undefined);
  if (!selected) {
    return new EdgeError(
      'BAD_REQUEST',
      operation.operationName
        ? 'The document has no operation of the given operationName.'
        : 'The document holds several operations: name the one to run with operationName.',
      { status: 400 },
    );
  }
  if (selected.operation === OperationTypeNode.MUTATION) {
    const mutations = rootFieldCount(operation.document, selected.selectionSet);
    if (mutations > limits.maxMutations) {
      return new EdgeError(
        'TOO_MANY_MUTATIONS',
        `The operation runs ${mutations} mutations, over the limit of ${limits.maxMutations} per request.`,
        { details: { limit: limits.maxMutations, mutations }, status: 400 },
      );
    }
  }
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

/** Fields at the root of an operation, aliases and fragments (inline or named) included. */
function rootFieldCount(document: DocumentNode, selectionSet: SelectionSetNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const count = (set: SelectionSetNode, seen: ReadonlySet<string>): number => {
    let n = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') n += 1;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        n += count(selection.selectionSet, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // Validation refuses cycles and unknown fragments; the guard only keeps this total.
        if (fragment && !seen.has(name))
          n += count(fragment.selectionSet, new Set([...seen, name]));
      }
    }
    return n;
  };
  return count(selectionSet, new Set());
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

/**
 * Runs {@link checkOperationLimits} on every HTTP operation, once Apollo has validated it, then
 * counts it against its user's request rate (RATE_LIMITED, 429).
 */
export function operationLimitsPlugin(
  limits: OperationLimits,
  rate: UserRequestRate,
): ApolloServerPlugin<Partial<EdgeContext>> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation: async (context) => {
          const refusal = checkOperationLimits(
            {
              schema: context.schema,
              document: context.document,
              variables: context.request.variables,
              operationName: context.request.operationName,
            },
            limits,
          );
          if (refusal) throw refusal;
          const principal = context.contextValue.principal;
          const limited = principal ? await rate.admit(principal) : undefined;
          if (limited) throw limited;
        },
      }),
  };
}
