import { Inject } from '@nestjs/common';
import { Field, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '@ledgerline/graphql';
import type { Principal } from '@ledgerline/identity';
import { LedgerlineError } from '@ledgerline/kernel';
import { IceServerIssuer } from '../application/ice-server-issuer';

@ObjectType('IceServer', { description: 'One entry of an RTCPeerConnection’s `iceServers`.' })
export class IceServerDto {
  @Field(() => [String])
  urls!: string[];

  @Field(() => String, { nullable: true, description: 'Set on TURN entries.' })
  username!: string | null;

  @Field(() => String, { nullable: true, description: 'Set on TURN entries.' })
  credential!: string | null;
}

@ObjectType('IceServers', {
  description: 'STUN and TURN servers for a call, under a TURN credential that expires.',
})
export class IceServersDto {
  @Field(() => [IceServerDto])
  iceServers!: IceServerDto[];

  @Field(() => Date, { description: 'When the TURN credential stops working; ask again before.' })
  expiresAt!: Date;
}

/** A service (an API key) asked for TURN credentials: only members place calls. */
export class TurnCredentialRefusedError extends LedgerlineError {
  readonly code = 'forbidden';
  constructor() {
    super('TURN credentials are for users and agents, not services');
  }
}

/** `iceServers`: a short-lived TURN credential for the calling member (users and agents). */
@Resolver()
export class IceServersResolver {
  constructor(@Inject(IceServerIssuer) private readonly issuer: IceServerIssuer) {}

  @Query(() => IceServersDto, {
    description:
      'STUN/TURN servers (UDP, TCP, and TLS where configured) with a TURN credential for the caller, valid for the configured minutes. Users and agents only (FORBIDDEN for services).',
  })
  iceServers(@CurrentPrincipal() principal: Principal): IceServersDto {
    if (principal.kind === 'service') {
      throw new TurnCredentialRefusedError();
    }
    const issued = this.issuer.forMember(principal.tenantId, principal.id);
    return {
      iceServers: issued.iceServers.map((s) => ({
        urls: [...s.urls],
        username: s.username ?? null,
        credential: s.credential ?? null,
      })),
      expiresAt: issued.expiresAt,
    };
  }
}
