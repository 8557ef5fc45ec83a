import { startJanusClient } from './janus-sfu-client';
import { startMediasoupClient } from './mediasoup-sfu-client';
import type { SfuClientFactory } from './sfu-client';

/** Each SFU engine's client, by the engine name a start/join reply carries (`sfu.engine`). */
export const SFU_CLIENTS: Readonly<Record<string, SfuClientFactory>> = {
  mediasoup: startMediasoupClient,
  janus: startJanusClient,
};
