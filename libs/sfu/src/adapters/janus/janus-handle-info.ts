/** What the Admin API's `handle_info` says about one handle's media. */
export interface HandleCounters {
  /** Bytes Janus received on the handle's connection (what the client sent). */
  readonly bytesIn: number;
  /** Bytes Janus sent on it (what the client received). */
  readonly bytesOut: number;
  /** The client's side of the selected ICE pair (ip:port), when there is one. */
  readonly remoteAddress?: string;
  /** Whether the handle still has a WebRTC connection with counters. */
  readonly connected: boolean;
}

type Stats = { in?: { bytes?: unknown }; out?: { bytes?: unknown } };

/**
 * Counters from a `handle_info` reply's `info` (Janus 1.x): `webrtc.media.<mid>.stats.{in,out}.bytes`
 * for each medium plus `webrtc.dtls.stats` (the handshake), and the remote address from
 * `webrtc.ice.selected-pair` ("local:port [type,udp] <-> remote:port [type,udp]").
 */
export function handleCounters(info: unknown): HandleCounters {
  const webrtc = (info as { webrtc?: unknown } | undefined)?.webrtc as
    | {
        ice?: { 'selected-pair'?: unknown };
        dtls?: { stats?: Stats };
        media?: Record<string, { stats?: Stats }>;
      }
    | undefined;
  if (!webrtc || typeof webrtc !== 'object') return { bytesIn: 0, bytesOut: 0, connected: false };
  const bytes = (value: unknown) => (typeof value === 'number' && value > 0 ? value : 0);
  const all: (Stats | undefined)[] = [
    webrtc.dtls?.stats,
    ...Object.values(webrtc.media ?? {}).map((medium) => medium?.stats),
  ];
  let bytesIn = 0;
  let bytesOut = 0;
  for (const stats of all) {
    bytesIn += bytes(stats?.in?.bytes);
    bytesOut += bytes(stats?.out?.bytes);
  }
  const pair = webrtc.ice?.['selected-pair'];
  const remote =
    typeof pair === 'string' ? /<->\s*(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})/.exec(pair) : null;
  return {
    bytesIn,
    bytesOut,
    connected: webrtc.media !== undefined,
    ...(remote ? { remoteAddress: `${remote[1]}:${remote[2]}` } : {}),
  };
}
