import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Where mediasoup's C++ worker binary is. The npm package cannot download its prebuilt worker
 * here, so `npm run media:worker` (scripts/media-worker.sh) builds it from the tarball and caches
 * it outside the work tree per version; `MEDIASOUP_WORKER_BIN` (config `sfu.mediasoup.workerBin`)
 * overrides that path.
 */
export interface MediasoupWorkerBinary {
  readonly path: string;
  readonly version: string;
  /**
   * `npm run media:worker` completed a real DTLS handshake with it (a `<binary>.dtls-ok` marker):
   * a worker that failed it (ADR 0025) is never chosen automatically.
   */
  readonly dtlsProbed: boolean;
}

/** The installed mediasoup package's version (its package.json is not in the export map). */
export function installedMediasoupVersion(): string {
  const main = require.resolve('mediasoup');
  const manifest = join(dirname(main), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The cache location scripts/media-worker.sh writes for a version. */
export function cachedWorkerPath(version: string, cacheRoot?: string): string {
  const root = cacheRoot ?? join(homedir(), '.cache', 'ledgerline');
  return join(root, `mediasoup-worker-${version}`, 'mediasoup-worker');
}

/** The configured binary when given, else the cached one; undefined when neither is executable. */
export function locateMediasoupWorker(configured?: string): MediasoupWorkerBinary | undefined {
  const version = installedMediasoupVersion();
  const path = configured ?? cachedWorkerPath(version);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return undefined;
  }
  let dtlsProbed = true;
  try {
    accessSync(`${path}.dtls-ok`, constants.F_OK);
  } catch {
    dtlsProbed = false;
  }
  return { path, version, dtlsProbed };
}
