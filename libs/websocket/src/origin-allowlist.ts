/**
 * Whether a browser Origin may open a WebSocket. `allowed` undefined: any. A request without an
 * Origin header is not from a browser (browsers always send one on a WebSocket upgrade), so it is
 * let through to authentication: the allowlist protects users' browsers from other sites, and a
 * non-browser client must present a credential all the same.
 */
export function isOriginAllowed(
  origin: string | undefined,
  allowed: readonly string[] | undefined,
): boolean {
  if (origin === undefined || allowed === undefined) return true;
  return allowed.includes(origin);
}
