import {
  DEFAULT_CONVERSATION_LIMITS,
  type ConversationLimits,
} from '../domain/conversation.commands';

/**
 * The limits the GraphQL edge validates against. Decorators are read when the classes load, so
 * the same values must reach the decider and the queries: the app passes them to
 * `ConversationsModule.forRoot({ limits: CONVERSATION_API_LIMITS, maxPageSize:
 * CONVERSATION_API_MAX_PAGE_SIZE })`. The decider stays the authority (it counts code points and
 * refuses control characters and lone surrogates); the edge refuses what can never pass early.
 */
export const CONVERSATION_API_LIMITS: ConversationLimits = DEFAULT_CONVERSATION_LIMITS;

/** Largest page a query may ask for (`first`); above it the edge answers BAD_USER_INPUT. */
export const CONVERSATION_API_MAX_PAGE_SIZE = 100;

/** The page size when `first` is not given. */
export const CONVERSATION_API_DEFAULT_PAGE_SIZE = 50;

/** How long a read with `minPosition` waits for the read models to reach that position. */
export const READ_YOUR_WRITES_TIMEOUT_MS = 5_000;

/**
 * Cost estimate for a list whose length no argument bounds (receipts, reactions, versions): the
 * edge multiplies its children's cost by this.
 */
export const UNBOUNDED_LIST_COST = 10;

/** Cost of a paged field: the page size (clamped to the maximum) times its children's cost. */
export function pagedCost(options: {
  readonly args: { readonly first?: unknown };
  readonly childComplexity: number;
}): number {
  const first = typeof options.args.first === 'number' ? options.args.first : NaN;
  const size = Number.isInteger(first)
    ? Math.min(Math.max(first, 1), CONVERSATION_API_MAX_PAGE_SIZE)
    : CONVERSATION_API_DEFAULT_PAGE_SIZE;
  return size * options.childComplexity;
}

/** Cost of a list with no size argument. */
export function unboundedListCost(options: { readonly childComplexity: number }): number {
  return UNBOUNDED_LIST_COST * options.childComplexity;
}
