import type { TurnCredential } from './turn-credentials';

/** An RTCIceServer as browsers and SDKs take it. */
export interface IceServer {
  readonly urls: readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface IceServerEndpoints {
  /** Host name or address clients reach the relay at. */
  readonly host: string;
  readonly port: number;
  /** TURN over TCP on the same port (coturn; the built-in relay listens on TCP too). */
  readonly tcp: boolean;
  /** TURNS (TLS) port, when a TLS listener is configured. */
  readonly tlsPort?: number;
}

function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The `iceServers` a client gets for a call: STUN, then TURN over UDP, TCP and TLS as configured,
 * all under the one short-lived credential.
 */
export function buildIceServers(
  endpoints: IceServerEndpoints,
  credential: TurnCredential,
): IceServer[] {
  const host = hostPart(endpoints.host);
  const turn = [`turn:${host}:${endpoints.port}?transport=udp`];
  if (endpoints.tcp) turn.push(`turn:${host}:${endpoints.port}?transport=tcp`);
  if (endpoints.tlsPort !== undefined)
    turn.push(`turns:${host}:${endpoints.tlsPort}?transport=tcp`);
  return [
    { urls: [`stun:${host}:${endpoints.port}`] },
    { urls: turn, username: credential.username, credential: credential.password },
  ];
}
