import { Device, type types } from 'mediasoup-client';
import {
  addInbound,
  inboundFigures,
  type ReceivedMedia,
  type SfuClient,
  type SfuClientFactory,
} from './sfu-client';

/**
 * The mediasoup engine's client: mediasoup-client (its Chromium handler is detected from the user
 * agent) on the transports the join reply opened, one producer per local track, and a consumer
 * for every other participant's producer — those the join reply listed and those announced later
 * (`producer-added`). Requests are the `callSfu` methods of libs/sfu's mediasoup-requests.ts.
 */
interface TransportInfo {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

interface ProducerInfo {
  producerId: string;
  participantId: string;
  kind: types.MediaKind;
}

interface MediasoupJoin {
  routerRtpCapabilities: types.RtpCapabilities;
  recvTransport: TransportInfo;
  sendTransport?: TransportInfo;
  producers: ProducerInfo[];
}

export const startMediasoupClient: SfuClientFactory = async (payload, context) => {
  const join = payload as unknown as MediasoupJoin;
  const device = new Device();
  await device.load({ routerRtpCapabilities: join.routerRtpCapabilities });

  function open(info: TransportInfo, direction: 'send' | 'recv'): types.Transport {
    const options = { ...info, iceServers: context.iceServers };
    const transport =
      direction === 'send'
        ? device.createSendTransport(options)
        : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, done, failed) => {
      context
        .request('connect-transport', { transportId: transport.id, dtlsParameters })
        .then(() => done(), failed);
    });
    return transport;
  }

  const recv = open(join.recvTransport, 'recv');
  const consumers = new Map<string, types.Consumer>();
  /** Producers consumed or being consumed: the join list and `producer-added` may both name one. */
  const seen = new Set<string>();

  function showParticipant(participantId: string): void {
    const tracks = [...consumers.values()]
      .filter((c) => c.appData['participantId'] === participantId)
      .map((c) => c.track);
    context.show(participantId, tracks);
  }

  async function consume(producer: ProducerInfo): Promise<void> {
    if (seen.has(producer.producerId)) return;
    seen.add(producer.producerId);
    const reply = await context.request('consume', {
      producerId: producer.producerId,
      rtpCapabilities: device.rtpCapabilities,
    });
    const consumer = await recv.consume({
      id: reply['consumerId'] as string,
      producerId: producer.producerId,
      kind: reply['kind'] as types.MediaKind,
      rtpParameters: reply['rtpParameters'] as types.RtpParameters,
      appData: { participantId: reply['participantId'] as string },
    });
    consumers.set(consumer.id, consumer);
    showParticipant(producer.participantId);
    // The engine created it paused: it flows once this side is ready to receive.
    await context.request('resume-consumer', { consumerId: consumer.id });
  }

  let send: types.Transport | undefined;
  if (join.sendTransport && context.stream) {
    send = open(join.sendTransport, 'send');
    send.on('produce', ({ kind, rtpParameters }, done, failed) => {
      context
        .request('produce', { kind, rtpParameters })
        .then((reply) => done({ id: reply['producerId'] as string }), failed);
    });
    for (const track of context.stream.getTracks()) await send.produce({ track });
  }
  for (const producer of join.producers) await consume(producer);

  const client: SfuClient = {
    async onSignal(frame) {
      const data = frame['data'] as Record<string, unknown> | undefined;
      if (!data) return; // an engine event (active speaker, reconnect): not needed here
      if (data['type'] === 'producer-added') {
        await consume(data as unknown as ProducerInfo);
      } else if (data['type'] === 'consumer-closed') {
        const consumer = consumers.get(data['consumerId'] as string);
        if (!consumer) return;
        consumers.delete(consumer.id);
        consumer.close();
        showParticipant(consumer.appData['participantId'] as string);
      }
    },
    async received() {
      const out: Record<string, ReceivedMedia> = {};
      for (const consumer of consumers.values()) {
        const participantId = consumer.appData['participantId'] as string;
        addInbound(out, participantId, await consumer.getStats());
      }
      return out;
    },
    async diagnostics() {
      return Promise.all(
        [...consumers.values()].map(async (c) => ({
          participantId: c.appData['participantId'] as string,
          kind: c.kind,
          connection: recv.connectionState,
          inbound: inboundFigures(await c.getStats()),
        })),
      );
    },
    close() {
      send?.close();
      recv.close();
    },
  };
  return client;
};
