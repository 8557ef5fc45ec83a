import { sfuContract } from '../../contract/sfu.contract';
import { janusUnavailable, startJanus, type JanusProcess } from '../../testing/janus-process';
import { JanusTestPeer } from '../../testing/janus-test-peer';
import { JanusSfu } from './janus-sfu.adapter';

// Debian's janus (scripts/ci/install-janus.sh), started on loopback with a generated
// configuration; without it the suite is registered as skipped, saying so.
const unavailable = janusUnavailable();
let janus: JanusProcess | undefined;

afterAll(async () => {
  await janus?.stop();
});

sfuContract({
  name: 'janus',
  unavailable,
  open: async ({ connectTimeoutMs }) => {
    janus = await startJanus({ restartOnExit: true });
    return JanusSfu.start({
      url: janus.url,
      adminUrl: janus.adminUrl,
      adminSecret: janus.adminSecret,
      connectTimeoutMs,
      statsIntervalMs: 500,
    });
  },
  join: (port, ref, options) => JanusTestPeer.join(port, ref, options),
  preferLayer: (consumerId, spatialLayer) => ({
    method: 'set-preferred-layers',
    data: { consumerId, spatialLayer },
  }),
  // Janus carries every room in one process: killing it drops the adapter's connection, the
  // supervisor (like systemd in production) starts it again, and the adapter re-creates the rooms.
  killRoomProcess: () => {
    process.kill(janus!.pid, 'SIGKILL');
  },
});
