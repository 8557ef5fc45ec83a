import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { rawText } from '../adapters/janus/janus-connection';

/** Where Debian's janus package puts its binary and modules (scripts/ci/install-janus.sh). */
const JANUS_BIN = '/usr/bin/janus';
const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';

/** Why Janus cannot run here, or undefined when it can. */
export function janusUnavailable(): string | undefined {
  if (!existsSync(JANUS_BIN)) return `no ${JANUS_BIN} (run scripts/ci/install-janus.sh)`;
  if (!existsSync(join(JANUS_LIB, 'plugins', 'libjanus_videoroom.so'))) {
    return 'Janus has no VideoRoom plugin';
  }
  if (!existsSync(join(JANUS_LIB, 'transports', 'libjanus_websockets.so'))) {
    return 'Janus has no WebSocket transport';
  }
  // janus prints its version, then refuses `--version` as an option (exit 1).
  const version = spawnSync(JANUS_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (!/Janus version: \d+/.test(version.stdout ?? '')) return `${JANUS_BIN} does not run`;
  return undefined;
}

export interface JanusProcess {
  /** The Janus API (WebSocket, `janus-protocol`). */
  readonly url: string;
  /** The Admin API (WebSocket, `janus-admin-protocol`). */
  readonly adminUrl: string;
  readonly adminSecret: string;
  /** Janus's log (until `stop`). */
  readonly logFile: string;
  /** The running janus's pid (a new one after a restart). */
  readonly pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's janus on loopback for tests with a generated configuration (a temp dir): only
 * the VideoRoom plugin and the WebSocket transport, the Janus API and the Admin API (with a
 * generated secret) on free loopback ports, an RTP port range of its own, full ICE with
 * connectivity checks as keep-alives (so a peer that vanishes without a DTLS alert, as werift
 * does, is detected and hung up). libnice never gathers loopback candidates (`ice_enforce_list =
 * "lo"` leaves Janus with none of its own and it falls back to every interface), so the media
 * runs on the host's own address: still this machine, never the network beyond it. Resolves once the API answers `info`; `stop` kills it and removes the
 * directory. `restartOnExit` starts it again when it dies (as a supervisor would), on the same ports.
 */
export async function startJanus(
  options: { rtpPorts?: [number, number]; restartOnExit?: boolean } = {},
): Promise<JanusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'll-janus-'));
  const configs = join(dir, 'conf');
  mkdirSync(configs);
  const [wsPort, adminPort] = [await freePort(), await freePort()];
  const adminSecret = randomBytes(16).toString('hex');
  const [minRtp, maxRtp] = options.rtpPorts ?? [
    20_000 + (process.pid % 100) * 100,
    20_000 + (process.pid % 100) * 100 + 99,
  ];
  const allPlugins = [
    'audiobridge',
    'duktape',
    'echotest',
    'lua',
    'nosip',
    'recordplay',
    'sip',
    'streaming',
    'textroom',
    'videocall',
    'voicemail',
  ];
  const allTransports = ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq'];
  writeFileSync(
    join(configs, 'janus.jcfg'),
    `general: {
  configs_folder = "${configs}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  debug_level = 3
  admin_secret = "${adminSecret}"
  session_timeout = 60
  hide_dependencies = true
}
media: {
  rtp_port_range = "${minRtp}-${maxRtp}"
  ipv6 = false
  dtls_timeout = 500
  no_media_timer = 2
}
nat: {
  ice_lite = false
  ice_keepalive_conncheck = true
  ice_tcp = false
  full_trickle = false
}
plugins: {
  disable = "${allPlugins.map((p) => `libjanus_${p}.so`).join(',')}"
}
transports: {
  disable = "${allTransports.map((t) => `libjanus_${t}.so`).join(',')}"
}
events: {
  broadcast = false
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
`,
  );
  writeFileSync(
    join(configs, 'janus.transport.websockets.jcfg'),
    `general: {
  json = "plain"
  ws = true
  ws_port = ${wsPort}
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = true
  admin_ws_port = ${adminPort}
  admin_ws_ip = "127.0.0.1"
  admin_wss = false
}
`,
  );
  writeFileSync(join(configs, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
  const args = [
    '-F',
    configs,
    '-C',
    join(configs, 'janus.jcfg'),
    '-o',
    '-L',
    join(dir, 'janus.log'),
  ];
  let stopping = false;
  let child: ChildProcess;
  let exited = false;
  const launch = () => {
    child = spawn(JANUS_BIN, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    exited = false;
    child.once('exit', () => {
      exited = true;
      // A supervisor's job (systemd in production): start it again, on the same ports.
      if (options.restartOnExit && !stopping) setTimeout(launch, 100);
    });
  };
  launch();
  const url = `ws://127.0.0.1:${wsPort}`;
  const stop = async () => {
    stopping = true;
    if (!exited) {
      const running = child;
      running.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          running.kill('SIGKILL');
          resolve();
        }, 5_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`janus exited at start-up (exit ${child!.exitCode})`);
    }
    if (await answers(url)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('janus did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    adminUrl: `ws://127.0.0.1:${adminPort}`,
    adminSecret,
    logFile: join(dir, 'janus.log'),
    get pid() {
      return child.pid!;
    },
    stop,
  };
}

/** Whether Janus answers an `info` request on `url`. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'janus-protocol');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    ws.once('error', () => done(false));
    ws.once('open', () => ws.send(JSON.stringify({ janus: 'info', transaction: 'probe' })));
    ws.once('message', (raw: WebSocket.RawData) => {
      const reply = JSON.parse(rawText(raw)) as { janus?: string };
      done(reply.janus === 'server_info');
    });
  });
}
