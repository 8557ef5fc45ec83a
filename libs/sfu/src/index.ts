export * from './sfu.port';
export { sfuConfig, type SfuSettings } from './sfu.config';
export { sfuManifest } from './manifest';
export {
  MediasoupSfu,
  MEDIASOUP_CODECS,
  type MediasoupSfuOptions,
} from './adapters/mediasoup/mediasoup-sfu.adapter';
export {
  locateMediasoupWorker,
  installedMediasoupVersion,
  cachedWorkerPath,
  type MediasoupWorkerBinary,
} from './adapters/mediasoup/mediasoup-worker-binary';
export { MEDIASOUP_REQUESTS, type MediasoupMethod } from './adapters/mediasoup/mediasoup-requests';
export { JanusSfu, type JanusSfuOptions } from './adapters/janus/janus-sfu.adapter';
export { SfuModule, selectSfu, type SelectedSfu } from './sfu.module';
