import type { DeviceRef } from '../domain/call.events';

/** A signal as its target device receives it. `payload` is the sender's (SDP, candidate, engine data). */
export interface RelayedSignal {
  readonly tenantId: string;
  readonly callId: string;
  readonly to: DeviceRef;
  /** Absent for signalling from the SFU engine itself. */
  readonly from?: DeviceRef;
  readonly kind: 'offer' | 'answer' | 'candidate' | 'sfu';
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * Relays WebRTC signalling (SDP, ICE candidates, the SFU engine's messages) to one device, on
 * whichever node it is connected to.
 *
 * Every adapter guarantees:
 * - nothing of a signal rests in clear: it is sealed under a data key of the call's signal stream
 *   (signalStreamId), so shredding the call's keys covers its signals;
 * - `send` resolves once the signal is durable and announced to every node;
 * - a signal is delivered at most once, to a device attached (`attach`) on some node, including
 *   one that attaches after it was sent but before it expired; `sweep` removes expired ones.
 */
export interface CallSignalRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  send(signal: RelayedSignal): Promise<void>;
  /** Hands the device's signals to `deliver` until the returned function is called. */
  attach(tenantId: string, device: DeviceRef, deliver: (signal: RelayedSignal) => void): () => void;
  /** Removes signals nobody claimed in time; answers how many. */
  sweep(): Promise<number>;
}
