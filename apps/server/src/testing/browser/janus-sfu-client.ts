import {
  addInbound,
  inboundFigures,
  type ReceivedMedia,
  type SfuClient,
  type SfuClientFactory,
} from './sfu-client';

/**
 * The Janus engine's client: plain RTCPeerConnections speaking Janus VideoRoom's SDP through the
 * `callSfu` methods of libs/sfu's janus-requests.ts. One connection publishes the local tracks
 * (this side offers, Janus answers); one connection per consumed stream receives it (Janus
 * offers, this side answers with `start`). Candidates go in the SDP once gathering completes, so
 * no trickle is needed.
 */
interface ProducerInfo {
  producerId: string;
  participantId: string;
  kind: 'audio' | 'video';
}

interface JanusJoin {
  listenOnly: boolean;
  producers: ProducerInfo[];
}

interface Jsep {
  type: RTCSdpType;
  sdp: string;
}

/** Resolves once the connection has gathered its candidates (they are then in its SDP). */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
}

interface Subscription {
  readonly consumerId: string;
  readonly participantId: string;
  readonly kind: 'audio' | 'video';
  readonly pc: RTCPeerConnection;
  track?: MediaStreamTrack;
}

export const startJanusClient: SfuClientFactory = async (payload, context) => {
  const join = payload as unknown as JanusJoin;
  const subscriptions = new Map<string, Subscription>();
  /** Producers consumed or being consumed: the join list and `producer-added` may both name one. */
  const seen = new Set<string>();

  function showParticipant(participantId: string): void {
    const tracks = [...subscriptions.values()]
      .filter((s) => s.participantId === participantId && s.track)
      .map((s) => s.track!);
    context.show(participantId, tracks);
  }

  async function consume(producer: ProducerInfo): Promise<void> {
    if (seen.has(producer.producerId)) return;
    seen.add(producer.producerId);
    const reply = await context.request('consume', { producerId: producer.producerId });
    const pc = new RTCPeerConnection({ iceServers: context.iceServers });
    const subscription: Subscription = {
      consumerId: reply['consumerId'] as string,
      participantId: reply['participantId'] as string,
      kind: producer.kind,
      pc,
    };
    subscriptions.set(subscription.consumerId, subscription);
    pc.ontrack = (e) => {
      subscription.track = e.track;
      showParticipant(subscription.participantId);
    };
    await pc.setRemoteDescription(reply['jsep'] as Jsep);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await context.request('start', {
      consumerId: subscription.consumerId,
      jsep: { type: 'answer', sdp: pc.localDescription!.sdp },
    });
  }

  let publisher: RTCPeerConnection | undefined;
  if (!join.listenOnly && context.stream) {
    publisher = new RTCPeerConnection({ iceServers: context.iceServers });
    for (const track of context.stream.getTracks()) {
      publisher.addTransceiver(track, { direction: 'sendonly', streams: [context.stream] });
    }
    await publisher.setLocalDescription(await publisher.createOffer());
    await gathered(publisher);
    const reply = await context.request('publish', {
      jsep: { type: 'offer', sdp: publisher.localDescription!.sdp },
    });
    await publisher.setRemoteDescription(reply['jsep'] as Jsep);
  }
  for (const producer of join.producers) await consume(producer);

  const client: SfuClient = {
    async onSignal(frame) {
      const data = frame['data'] as Record<string, unknown> | undefined;
      if (!data) return; // an engine event (active speaker, reconnect): not needed here
      if (data['type'] === 'producer-added') {
        await consume(data as unknown as ProducerInfo);
      } else if (data['type'] === 'consumer-closed') {
        const subscription = subscriptions.get(data['consumerId'] as string);
        if (!subscription) return;
        subscriptions.delete(subscription.consumerId);
        subscription.pc.close();
        showParticipant(subscription.participantId);
        // Its own connection went (ICE or DTLS failed), not what it carried: subscribe again.
        const producerId = data['producerId'];
        if (data['reason'] === 'transport-closed' && typeof producerId === 'string') {
          seen.delete(producerId);
          await consume({
            producerId,
            participantId: subscription.participantId,
            kind: subscription.kind,
          });
        }
      }
    },
    async received() {
      const out: Record<string, ReceivedMedia> = {};
      for (const subscription of subscriptions.values()) {
        addInbound(out, subscription.participantId, await subscription.pc.getStats());
      }
      return out;
    },
    async diagnostics() {
      return Promise.all(
        [...subscriptions.values()].map(async (s) => ({
          participantId: s.participantId,
          kind: s.kind,
          connection: `${s.pc.connectionState}/ice ${s.pc.iceConnectionState}`,
          inbound: inboundFigures(await s.pc.getStats()),
        })),
      );
    },
    close() {
      publisher?.close();
      for (const subscription of subscriptions.values()) subscription.pc.close();
    },
  };
  return client;
};
