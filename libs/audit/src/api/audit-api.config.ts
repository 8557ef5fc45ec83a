/**
 * The audit API's limits. Decorators read them when the classes load, and AuditModule passes the
 * same values to AuditorQueries, so the edge and the handler agree.
 */

/** Largest page of the audit log a query may ask for (`first`); above it, BAD_USER_INPUT. */
export const AUDIT_LOG_MAX_PAGE_SIZE = 100;

/** The page size when `first` is not given. */
export const AUDIT_LOG_DEFAULT_PAGE_SIZE = 50;

/**
 * How long an auditor's read waits for the audit log to include everything committed before it
 * began; UNAVAILABLE (retryable) after that.
 */
export const AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS = 5_000;

/**
 * Cost of a page of the audit log: one per row (its size, clamped to the maximum), plus the
 * selection once. An entry's fields are all columns of its one row, with no resolver behind them,
 * so selecting more of them adds no work per row (unlike a message's text, opened per item).
 */
export function auditPageCost(options: {
  readonly args: { readonly first?: unknown };
  readonly childComplexity: number;
}): number {
  const first = typeof options.args.first === 'number' ? options.args.first : NaN;
  const size = Number.isInteger(first)
    ? Math.min(Math.max(first, 1), AUDIT_LOG_MAX_PAGE_SIZE)
    : AUDIT_LOG_DEFAULT_PAGE_SIZE;
  return size + options.childComplexity;
}

/**
 * Cost estimate of a list in a conversation's history whose length no argument bounds (its
 * messages): the edge multiplies its children's cost by this, as it does for the conversations'
 * unbounded lists.
 */
export const AUDIT_HISTORY_LIST_COST = 10;

/** Cost of the history's messages: AUDIT_HISTORY_LIST_COST times the selection of one. */
export function auditHistoryListCost(options: { readonly childComplexity: number }): number {
  return AUDIT_HISTORY_LIST_COST * options.childComplexity;
}
