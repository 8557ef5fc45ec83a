import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClamdScanner } from '../adapters/clamd-scanner.adapter';

/**
 * The EICAR anti-virus test file (harmless by design; every scanner detects it). Built from two
 * halves so this source file is not itself taken for it.
 */
export const EICAR = Buffer.from(
  'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*',
  'ascii',
);

/** The name the local signature database gives EICAR (ClamAV appends `.UNOFFICIAL`). */
export const EICAR_SIGNATURE = 'Ledgerline.Test.EICAR';

/** Why clamd cannot run here, or undefined when it can. */
export function clamdMissing(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v clamd'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim()
    ? undefined
    : 'clamd is not installed (scripts/ci/install-clamav.sh installs Debian’s clamav-daemon)';
}

/**
 * clamd on a unix socket of its own, with a signature database of one body signature for EICAR
 * (ClamAV cannot download its real databases here). Resolves once clamd answers PING.
 */
export class ClamdProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly socket: string,
  ) {}

  static async start(timeoutMs = 120_000): Promise<ClamdProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'ledgerline-clamd-'));
    const db = join(dir, 'db');
    spawnSync('mkdir', ['-p', db]);
    writeFileSync(
      join(db, 'ledgerline-test.ndb'),
      `${EICAR_SIGNATURE}:0:0:${EICAR.toString('hex')}\n`,
    );
    const socket = join(dir, 'clamd.sock');
    const config = join(dir, 'clamd.conf');
    writeFileSync(
      config,
      [
        `LocalSocket ${socket}`,
        `DatabaseDirectory ${db}`,
        'Foreground yes',
        'StreamMaxLength 64M',
        'MaxThreads 2',
        'LogTime no',
        '',
      ].join('\n'),
    );
    const child = spawn('clamd', [`--config-file=${config}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const process = new ClamdProcess(child, dir, socket);
    const scanner = new ClamdScanner(socket, 5_000);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) {
        process.cleanUp();
        throw new Error(`clamd exited at start:\n${output}`);
      }
      if (await scanner.ping()) return process;
      if (Date.now() > deadline) {
        await process.stop();
        throw new Error(`clamd did not answer PING:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    this.cleanUp();
  }

  private cleanUp(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
