import { z } from 'zod';
import { SfuRequestError, type SfuRequest } from '../../sfu.port';

/**
 * The signalling requests a mediasoup participant's client makes through `SfuPort.request`, one
 * schema each. Identifiers and enums are checked here; RTP parameters and capabilities are passed
 * to mediasoup, which validates them itself (its TypeError becomes SfuRequestError). Lists are
 * capped so a client cannot make the engine walk unbounded input.
 */
const id = z.string().min(1).max(64);
const object = z.record(z.string(), z.unknown());
const capped = (max: number) => z.array(object).max(max);

const dtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.string().min(1).max(16), value: z.string().min(1).max(200) }))
    .min(1)
    .max(4),
});

const rtpParameters = z
  .object({
    mid: z.string().max(32).optional(),
    codecs: capped(16).min(1),
    headerExtensions: capped(32).optional(),
    encodings: capped(3).optional(),
    rtcp: object.optional(),
  })
  .passthrough();

const rtpCapabilities = z
  .object({ codecs: capped(64).optional(), headerExtensions: capped(64).optional() })
  .passthrough();

export const MEDIASOUP_REQUESTS = {
  'connect-transport': z.object({ transportId: id, dtlsParameters }),
  'restart-ice': z.object({ transportId: id }),
  produce: z.object({
    kind: z.enum(['audio', 'video']),
    rtpParameters,
    paused: z.boolean().optional(),
  }),
  'close-producer': z.object({ producerId: id }),
  'pause-producer': z.object({ producerId: id }),
  'resume-producer': z.object({ producerId: id }),
  consume: z.object({ producerId: id, rtpCapabilities }),
  'pause-consumer': z.object({ consumerId: id }),
  'resume-consumer': z.object({ consumerId: id }),
  'set-preferred-layers': z.object({
    consumerId: id,
    spatialLayer: z.number().int().min(0).max(2),
    temporalLayer: z.number().int().min(0).max(2).optional(),
  }),
  'request-key-frame': z.object({ consumerId: id }),
  'list-producers': z.object({}),
} as const;

export type MediasoupMethod = keyof typeof MEDIASOUP_REQUESTS;
export type MediasoupRequest = {
  [M in MediasoupMethod]: { method: M; data: z.infer<(typeof MEDIASOUP_REQUESTS)[M]> };
}[MediasoupMethod];

/** The request, checked; an unknown method or malformed data is refused, naming no values. */
export function parseMediasoupRequest(request: SfuRequest): MediasoupRequest {
  if (!Object.hasOwn(MEDIASOUP_REQUESTS, request.method)) {
    throw new SfuRequestError(`unknown SFU method "${request.method.slice(0, 40)}"`);
  }
  const method = request.method as MediasoupMethod;
  const parsed = MEDIASOUP_REQUESTS[method].safeParse(request.data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(data)');
    throw new SfuRequestError(`malformed "${method}" request: ${[...new Set(fields)].join(', ')}`);
  }
  return { method, data: parsed.data } as MediasoupRequest;
}
