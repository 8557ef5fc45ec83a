export {
  mintTurnCredential,
  parseTurnUsername,
  turnPassword,
  acceptedPasswords,
  type TurnCredential,
  type TurnUsername,
} from './domain/turn-credentials';
export { buildIceServers, type IceServer, type IceServerEndpoints } from './domain/ice-servers';
export { PeerPolicy, DENIED_PEER_RANGES, parseCidr, type PeerDecision } from './domain/peer-policy';
export {
  TURN_ALLOCATION_ENDED,
  TURN_ALLOCATION_ENDED_VERSION,
  turnStreamId,
  type TurnAllocationEndedV1,
  type AllocationEndReason,
} from './domain/allocation-ended.event';
export { TurnRelay, type TurnRelayOptions } from './application/turn-relay';
export { IceServerIssuer, type IssuedIceServers } from './application/ice-server-issuer';
export { AllocationAudit } from './application/allocation-audit';
export { CoturnStatsReader } from './adapters/coturn-statsdb.adapter';
export {
  IceServersResolver,
  IceServersDto,
  IceServerDto,
  TurnCredentialRefusedError,
} from './api/ice-servers.resolver';
export { turnConfig, type TurnSettings } from './turn.config';
export { turnManifest } from './manifest';
export { TurnModule, TurnServices, type TurnModuleOptions } from './turn.module';
export {
  Attr as StunAttr,
  StunClass,
  StunMethod,
  decodeStun,
  encodeStun,
  decodeXorAddress,
  encodeXorAddress,
  encodeChannelData,
  decodeChannelData,
  longTermKey,
  type StunMessage,
  type TransportAddress,
} from './domain/stun-message';
