import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthenticationError, type Principal } from '@ledgerline/identity';

/**
 * What every resolver receives as GraphQL context. The edge authenticates before anything else:
 * an operation runs only with a principal.
 */
export interface EdgeContext {
  readonly principal: Principal;
  /** `http` for queries and mutations over POST/GET; `ws` for operations over graphql-ws. */
  readonly transport: 'http' | 'ws';
}

/** The principal of the operation being resolved. */
export function principalOf(context: ExecutionContext): Principal {
  const graphqlContext = GqlExecutionContext.create(context).getContext<Partial<EdgeContext>>();
  // Unreachable through the edge, which refuses unauthenticated operations before they run; kept
  // so a resolver wired outside it fails closed.
  if (!graphqlContext?.principal) throw new AuthenticationError('missing');
  return graphqlContext.principal;
}

/** Resolver parameter decorator: `me(@CurrentPrincipal() principal: Principal)`. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  principalOf(context),
);
