/**
 * What the group-call page needs from an SFU engine's client, whichever engine the server runs:
 * one module per engine (mediasoup today, Janus beside it), picked by the `sfu.engine` of the
 * start/join reply (see sfu-clients.ts). Browser code, bundled by esbuild at test time.
 */

/** How an engine's client talks to the server and what it sends. */
export interface SfuClientContext {
  /** One `callSfu` request (the engine's own method and data); resolves with the reply's data. */
  request(method: string, data: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The camera and microphone to publish; absent for a listener. */
  readonly stream: MediaStream | undefined;
  /** From the start/join reply (STUN/TURN with a time-limited credential). */
  readonly iceServers: RTCIceServer[];
  /** A remote participant's media arrived or changed: the page shows (and so plays) it. */
  show(participantId: string, tracks: MediaStreamTrack[]): void;
}

/** What this browser receives from one remote participant, from getStats. */
export interface ReceivedMedia {
  videoFramesDecoded: number;
  audioPacketsReceived: number;
  audioSamplesReceived: number;
}

export interface SfuClient {
  /** A `callSignal` frame of `kind: "sfu"` (the engine's own message: `data` or `event`). */
  onSignal(frame: Record<string, unknown>): Promise<void>;
  /** Received media per remote participant id (the engine's participant ids). */
  received(): Promise<Record<string, ReceivedMedia>>;
  /** Each receiver's connection state and inbound figures: what a failing test reports. */
  diagnostics(): Promise<ReceiverDiagnostics[]>;
  close(): void;
}

/** One receiver as a failing test reports it: why media from a participant did not arrive. */
export interface ReceiverDiagnostics {
  readonly participantId: string;
  readonly kind: string;
  /** The receiving connection's state (connectionState, and ICE's where the engine has it). */
  readonly connection: string;
  /** Its inbound-rtp figures (packets, frames, key frames, PLI/FIR/NACK sent), when it has one. */
  readonly inbound: Record<string, unknown> | undefined;
}

const INBOUND_FIGURES = [
  'packetsReceived',
  'packetsLost',
  'bytesReceived',
  'framesReceived',
  'framesDecoded',
  'keyFramesDecoded',
  'framesDropped',
  'pliCount',
  'firCount',
  'nackCount',
  'totalSamplesReceived',
] as const;

/** The inbound-rtp figures of a receiver's stats report, for its diagnostics. */
export function inboundFigures(report: RTCStatsReport): Record<string, unknown> | undefined {
  let figures: Record<string, unknown> | undefined;
  report.forEach((s: Record<string, unknown>) => {
    if (s['type'] !== 'inbound-rtp') return;
    figures = {};
    for (const key of INBOUND_FIGURES) if (s[key] !== undefined) figures[key] = s[key];
  });
  return figures;
}

/** Starts an engine's client from its join `payload` (the engine's own shape). */
export type SfuClientFactory = (
  payload: Record<string, unknown>,
  context: SfuClientContext,
) => Promise<SfuClient>;

/** Adds one receiver's inbound-rtp figures to its participant's, in `out` by participant id. */
export function addInbound(
  out: Record<string, ReceivedMedia>,
  participantId: string,
  report: RTCStatsReport,
): void {
  const into = (out[participantId] ??= {
    videoFramesDecoded: 0,
    audioPacketsReceived: 0,
    audioSamplesReceived: 0,
  });
  report.forEach((s: Record<string, unknown>) => {
    if (s['type'] !== 'inbound-rtp') return;
    const count = (key: string) => (typeof s[key] === 'number' ? s[key] : 0);
    if (s['kind'] === 'video') into.videoFramesDecoded += count('framesDecoded');
    if (s['kind'] === 'audio') {
      into.audioPacketsReceived += count('packetsReceived');
      into.audioSamplesReceived += count('totalSamplesReceived');
    }
  });
}
