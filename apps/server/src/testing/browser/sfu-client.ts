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
  close(): void;
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
