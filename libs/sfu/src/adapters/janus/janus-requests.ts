import { z } from 'zod';
import { SfuRequestError, type SfuRequest } from '../../sfu.port';

/**
 * The signalling requests a Janus participant's client makes through `SfuPort.request`, one schema
 * each. SDP is capped in size and must look like SDP; Janus parses it itself (its refusal becomes
 * SfuRequestError). A producer id is `<feed>:<mid>` as `publish` returned it.
 */
const MAX_SDP_CHARS = 64 * 1024;
const id = z.string().min(1).max(64);
const sdp = z
  .string()
  .min(10)
  .max(MAX_SDP_CHARS)
  .refine((s) => s.startsWith('v=0'), 'not an SDP');
const offer = z.object({ type: z.literal('offer'), sdp });
const answer = z.object({ type: z.literal('answer'), sdp });
const candidate = z.union([
  z.object({
    candidate: z.string().min(1).max(512),
    sdpMid: z.string().max(32).optional(),
    sdpMLineIndex: z.number().int().min(0).max(64).optional(),
  }),
  z.object({ completed: z.literal(true) }),
]);

export const JANUS_REQUESTS = {
  /** Publish: the client's SDP offer (audio and/or video, simulcast allowed); returns the answer. */
  publish: z.object({ jsep: offer }),
  unpublish: z.object({}),
  /** Subscribe to one published stream; returns Janus's offer, answered with `start`. */
  consume: z.object({ producerId: id }),
  start: z.object({ consumerId: id, jsep: answer }),
  'pause-consumer': z.object({ consumerId: id }),
  'resume-consumer': z.object({ consumerId: id }),
  'close-consumer': z.object({ consumerId: id }),
  'set-preferred-layers': z.object({
    consumerId: id,
    spatialLayer: z.number().int().min(0).max(2),
    temporalLayer: z.number().int().min(0).max(2).optional(),
  }),
  /** A trickled ICE candidate for the publisher's connection, or a consumer's. */
  trickle: z.object({ consumerId: id.optional(), candidate }),
  'list-producers': z.object({}),
} as const;

export type JanusMethod = keyof typeof JANUS_REQUESTS;
export type JanusRequest = {
  [M in JanusMethod]: { method: M; data: z.infer<(typeof JANUS_REQUESTS)[M]> };
}[JanusMethod];

/** The request, checked; an unknown method or malformed data is refused, naming no values. */
export function parseJanusRequest(request: SfuRequest): JanusRequest {
  if (!Object.hasOwn(JANUS_REQUESTS, request.method)) {
    throw new SfuRequestError(`unknown SFU method "${request.method.slice(0, 40)}"`);
  }
  const method = request.method as JanusMethod;
  const parsed = JANUS_REQUESTS[method].safeParse(request.data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(data)');
    throw new SfuRequestError(`malformed "${method}" request: ${[...new Set(fields)].join(', ')}`);
  }
  return { method, data: parsed.data } as JanusRequest;
}

/** `<feed>:<mid>` → its parts, or undefined when it is not one. */
export function parseProducerId(producerId: string): { feed: number; mid: string } | undefined {
  const match = /^(\d{1,16}):([A-Za-z0-9_-]{1,32})$/.exec(producerId);
  if (!match) return undefined;
  const feed = Number(match[1]);
  return Number.isSafeInteger(feed) ? { feed, mid: match[2]! } : undefined;
}
