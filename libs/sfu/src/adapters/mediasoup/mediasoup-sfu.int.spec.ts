import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sfuContract } from '../../contract/sfu.contract';
import { MediasoupTestPeer } from '../../testing/mediasoup-test-peer';
import { locateMediasoupWorker } from './mediasoup-worker-binary';
import { MediasoupSfu } from './mediasoup-sfu.adapter';

// The worker binary comes from `npm run media:worker` (or MEDIASOUP_WORKER_BIN); without it the
// suite is registered as skipped, saying so.
const binary = locateMediasoupWorker(process.env['MEDIASOUP_WORKER_BIN'] || undefined);

/**
 * Whether this worker completes a real DTLS handshake (scripts/mediasoup/dtls-probe.mjs, a couple
 * of seconds). A worker built without the recipe's DTLS fix crashed in SSL_read on its first
 * handshake (docs/adr/0025-sfu-engines.md); should a build ever fail the probe, the media tests
 * skip, saying so.
 */
function probeDtls(path: string): string | undefined {
  const probe = spawnSync(
    process.execPath,
    [join(__dirname, '../../../../../scripts/mediasoup/dtls-probe.mjs')],
    {
      env: { ...process.env, MEDIASOUP_WORKER_BIN: path },
      timeout: 120_000,
    },
  );
  if (probe.status === 0) return undefined;
  return probe.status === 3
    ? 'this mediasoup worker crashes in the DTLS handshake (dtls-probe.mjs), so no media can flow'
    : `the DTLS probe did not connect (exit ${probe.status ?? probe.signal})`;
}

sfuContract({
  name: 'mediasoup',
  unavailable: binary
    ? undefined
    : 'no mediasoup worker binary (run `npm run media:worker` or set MEDIASOUP_WORKER_BIN)',
  mediaUnavailable: binary ? probeDtls(binary.path) : undefined,
  open: ({ connectTimeoutMs }) =>
    MediasoupSfu.start({
      workerBin: binary!.path,
      workers: 2,
      listenIp: '127.0.0.1',
      minPort: 40_000,
      maxPort: 49_999,
      connectTimeoutMs,
    }),
  join: (port, ref, options) => MediasoupTestPeer.join(port, ref, options),
  preferLayer: (consumerId, spatialLayer) => ({
    method: 'set-preferred-layers',
    data: { consumerId, spatialLayer },
  }),
  killRoomProcess: (port, roomId) => {
    const pid = (port as MediasoupSfu).roomWorkerPid(roomId);
    if (pid === undefined) throw new Error(`room ${roomId} has no worker`);
    process.kill(pid, 'SIGKILL');
  },
});
