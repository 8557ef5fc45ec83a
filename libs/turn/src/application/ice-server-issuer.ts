import { UnavailableError, type Clock } from '@ledgerline/kernel';
import { buildIceServers, type IceServer } from '../domain/ice-servers';
import { mintTurnCredential } from '../domain/turn-credentials';
import type { TurnSettings } from '../turn.config';

export interface IssuedIceServers {
  readonly iceServers: readonly IceServer[];
  /** When the TURN credential in them stops working; ask again before then. */
  readonly expiresAt: Date;
}

/**
 * Mints a member's short-lived TURN credential (the first configured secret) and the `iceServers`
 * that carry it: what the calls replies and the `iceServers` GraphQL query hand out.
 */
export class IceServerIssuer {
  /** `listeningPort`: the built-in relay's port, for a relay on a free port (`publicPort` 0). */
  constructor(
    private readonly turn: TurnSettings,
    private readonly clock: Clock,
    private readonly listeningPort?: () => number | undefined,
  ) {}

  forMember(tenantId: string, userId: string): IssuedIceServers {
    const secret = this.turn.secrets[0];
    if (secret === undefined) {
      throw new UnavailableError('TURN is not configured (LEDGERLINE_TURN_SECRETS is unset)');
    }
    const credential = mintTurnCredential({
      secret,
      tenantId,
      userId,
      now: this.clock.now(),
      ttlSeconds: this.turn.credentialTtlMinutes * 60,
    });
    const iceServers = buildIceServers(
      {
        host: this.turn.publicHost,
        port: this.turn.publicPort || (this.listeningPort?.() ?? this.turn.publicPort),
        tcp: this.turn.tcp,
        ...(this.turn.tlsPort !== undefined ? { tlsPort: this.turn.tlsPort } : {}),
      },
      credential,
    );
    return { iceServers, expiresAt: credential.expiresAt };
  }
}
