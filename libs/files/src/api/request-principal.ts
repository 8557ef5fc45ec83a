import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '@ledgerline/identity';

/**
 * The authenticated principal of the HTTP request being served, for code the tus server calls
 * without the request (its data store). Set by the files controller around each request.
 */
export const requestPrincipal = new AsyncLocalStorage<Principal>();

export function currentPrincipal(): Principal {
  const principal = requestPrincipal.getStore();
  if (!principal) throw new Error('no authenticated principal for this upload request');
  return principal;
}
