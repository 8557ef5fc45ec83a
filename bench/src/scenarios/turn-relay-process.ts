import { PeerPolicy, TurnRelay } from '@ledgerline/turn';

/**
 * The built-in relay alone in a process, for the TURN bench (its CPU time and memory are then the
 * relay's only). argv: secret, allowlisted peer CIDR. Prints `{"port":N}` once listening.
 */
async function main(): Promise<void> {
  const [secret = 'bench', allow = '127.0.0.2/32'] = process.argv.slice(2);
  const relay = new TurnRelay({
    listenHost: '127.0.0.1',
    port: 0,
    tcp: false,
    realm: 'bench',
    secrets: () => [secret],
    peerPolicy: new PeerPolicy([allow]),
    quotas: {
      allocationsPerUser: 10_000,
      allocationsTotal: 10_000,
      bandwidthBytesPerSecond: 0,
      permissionsPerAllocation: 64,
    },
    lifetimes: {
      defaultSeconds: 600,
      maxSeconds: 3600,
      permissionSeconds: 300,
      channelSeconds: 600,
      nonceSeconds: 600,
    },
  });
  const { port } = await relay.start();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.once('SIGTERM', () => {
    void relay.stop().then(() => process.exit(0));
  });
}

void main();
