import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { ConfigError, loadConfig } from '@ledgerline/kernel';
import { sfuManifest } from './manifest';
import { sfuConfig } from './sfu.config';
import { selectSfu } from './sfu.module';
import { SfuUnavailableError } from './sfu.port';

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

  describe('with Janus', () => {
    const missingWorker = { ...mediasoup, workerBin: '/nonexistent/worker' };
    /** A port nothing listens on: a server bound and closed again. */
    async function deadUrl(): Promise<string> {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      return `ws://127.0.0.1:${port}`;
    }
    /**
     * Answers the two requests a Janus engine makes on start (create a session, attach the
     * VideoRoom plugin) the way Janus does; what this test checks is the choice, not the engine
     * (janus-sfu.int.spec.ts runs the real one).
     */
    async function janusLike(): Promise<{ url: string; close: () => Promise<void> }> {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      server.on('connection', (socket) => {
        socket.on('message', (raw) => {
          const request = JSON.parse((raw as Buffer).toString('utf8')) as {
            janus: string;
            transaction: string;
          };
          const id = request.janus === 'create' ? 1001 : 2002;
          socket.send(
            JSON.stringify({ janus: 'success', transaction: request.transaction, data: { id } }),
          );
        });
      });
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      return {
        url: `ws://127.0.0.1:${port}`,
        close: async () => {
          for (const client of server.clients) client.terminate();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    }
    const janusSettings = (url: string) => ({ url, connectTimeoutMs: 30_000 });

    it('under auto, takes Janus when mediasoup cannot run and a Janus URL answers, saying both', async () => {
      const janus = await janusLike();
      try {
        const selected = await selectSfu({
          engine: 'auto',
          mediasoup: missingWorker,
          janus: janusSettings(janus.url),
        });
        expect(selected.port?.engine).toBe('janus');
        expect(selected.description).toMatch(/^janus VideoRoom at 127\.0\.0\.1:\d+/);
        expect(selected.description).toContain('MEDIASOUP_WORKER_BIN');
        await selected.port?.close();
      } finally {
        await janus.close();
      }
    });

    it('under auto, falls back to none when Janus does not answer, saying why', async () => {
      const selected = await selectSfu({
        engine: 'auto',
        mediasoup: missingWorker,
        janus: janusSettings(await deadUrl()),
      });
      expect(selected.port).toBeUndefined();
      expect(selected.description).toMatch(/^none: .*MEDIASOUP_WORKER_BIN.*Janus did not answer/);
    });

    it('refuses to start when Janus is required and does not answer, or has no URL', async () => {
      await expect(
        selectSfu({ engine: 'janus', mediasoup, janus: janusSettings(await deadUrl()) }),
      ).rejects.toBeInstanceOf(SfuUnavailableError);
      await expect(selectSfu({ engine: 'janus', mediasoup })).rejects.toBeInstanceOf(ConfigError);
    });

    it('reads the Janus settings, and requires the URL when Janus is chosen', () => {
      const sfu = loadConfig(
        {
          LEDGERLINE_SFU_ENGINE: 'janus',
          LEDGERLINE_SFU_JANUS_URL: 'ws://janus:8188',
          LEDGERLINE_SFU_JANUS_ADMIN_URL: 'ws://janus:7188',
          LEDGERLINE_SFU_JANUS_ADMIN_SECRET: 'overlord',
        },
        [sfuManifest],
      ).slice(sfuConfig);
      expect(sfu.engine).toBe('janus');
      expect(sfu.janus).toEqual({
        url: 'ws://janus:8188',
        adminUrl: 'ws://janus:7188',
        adminSecret: 'overlord',
        connectTimeoutMs: 30_000,
      });
      expect(loadConfig({}, [sfuManifest]).slice(sfuConfig).janus).toBeUndefined();
      expect(() => loadConfig({ LEDGERLINE_SFU_ENGINE: 'janus' }, [sfuManifest])).toThrow(
        /LEDGERLINE_SFU_JANUS_URL/,
      );
      expect(() =>
        loadConfig({ LEDGERLINE_SFU_JANUS_URL: 'http://janus:8088' }, [sfuManifest]),
      ).toThrow(/LEDGERLINE_SFU_JANUS_URL/);
    });
  });
});
