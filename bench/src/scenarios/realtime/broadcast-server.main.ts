import { startBroadcastServer } from './broadcast-server';

// The reference server of the realtime bench as a process of its own (server-child.ts starts it):
// prints `{"url":"http://127.0.0.1:<port>"}` once it listens, stops on SIGTERM or SIGINT.

async function main(): Promise<void> {
  const server = await startBroadcastServer();
  process.stdout.write(
    `${JSON.stringify({ msg: 'broadcast server listening', url: server.url })}\n`,
  );
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
