import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ledgerline/kernel';
import { selectSfu } from './sfu.module';

const mediasoup = {
  listenIp: '127.0.0.1',
  minPort: 40_000,
  maxPort: 49_999,
  connectTimeoutMs: 30_000,
};

describe('selectSfu', () => {
  it('runs no engine when told so', async () => {
    const selected = await selectSfu({ engine: 'none', mediasoup });
    expect(selected.port).toBeUndefined();
    expect(selected.description).toMatch(/^none/);
  });

  it('falls back to none under auto when the worker binary is missing, saying why', async () => {
    const selected = await selectSfu({
      engine: 'auto',
      mediasoup: { ...mediasoup, workerBin: '/nonexistent/worker' },
    });
    expect(selected.port).toBeUndefined();
    expect(selected.description).toContain('MEDIASOUP_WORKER_BIN');
  });

  it('refuses to start when mediasoup is required and its binary is missing', async () => {
    await expect(
      selectSfu({
        engine: 'mediasoup',
        mediasoup: { ...mediasoup, workerBin: '/nonexistent/worker' },
      }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('under auto, passes over a worker that never completed the DTLS probe, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'll-sfu-'));
    try {
      // An executable that is not a worker: were it chosen, starting it would fail differently.
      const workerBin = join(dir, 'mediasoup-worker');
      writeFileSync(workerBin, '#!/bin/sh\nexit 1\n');
      chmodSync(workerBin, 0o755);
      const selected = await selectSfu({ engine: 'auto', mediasoup: { ...mediasoup, workerBin } });
      expect(selected.port).toBeUndefined();
      expect(selected.description).toContain('did not pass the DTLS probe');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
