import { Field, ID, ObjectType, Query, Resolver, registerEnumType } from '@nestjs/graphql';
import type { Principal, PrincipalKind } from '@ledgerline/identity';
import { CurrentPrincipal } from '../edge-context';

const PRINCIPAL_KINDS: Record<PrincipalKind, PrincipalKind> = {
  user: 'user',
  service: 'service',
  agent: 'agent',
};

registerEnumType(PRINCIPAL_KINDS, {
  name: 'PrincipalKind',
  description:
    'user: an end user (JWT); agent: an AI assistant (JWT); service: a backend (API key).',
});

@ObjectType({ description: 'The authenticated caller: ids and roles only, never a profile.' })
export class Viewer {
  @Field(() => PRINCIPAL_KINDS)
  kind!: PrincipalKind;

  @Field(() => ID, { description: 'The token subject, or the API key id of a service.' })
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => [String], { description: 'Tenant-level roles, as policies/roles.yaml names them.' })
  roles!: string[];

  @Field(() => Date, {
    nullable: true,
    description: 'When the token expires; a subscription socket is closed (4401) at that time.',
  })
  tokenExpiresAt?: Date;
}

/** `me`: who the edge authenticated, so a web app can check its token and roles. */
@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, { description: 'The authenticated caller.' })
  me(@CurrentPrincipal() principal: Principal): Viewer {
    return {
      kind: principal.kind,
      id: principal.id,
      tenantId: principal.tenantId,
      roles: [...principal.roles],
      ...(principal.tokenExpiresAt ? { tokenExpiresAt: principal.tokenExpiresAt } : {}),
    };
  }
}
