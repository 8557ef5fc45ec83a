/**
 * Deepest nesting of objects and arrays any input may have. Far above what a real request needs
 * (a few levels), far below what makes recursive code (validators, coercion) run out of stack.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed JSON value nests objects or arrays deeper than `max` levels (the value itself
 * is level 1 when it is an object or array). Iterative, so it cannot overflow the stack however
 * deep the value is, and it stops at the first branch found too deep.
 */
export function exceedsJsonDepth(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}
