import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Comparison } from '../report';
import type { Workload } from '../runner';
import { measureRow } from './measure-row';
import { BenchIdentityProvider } from './realtime/bench-identity';
import { BENCH_TENANT, startLedgerline, type LedgerlineChild } from './realtime/ledgerline-child';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';

const NAME = 'files transfer';
const FILE_BYTES = 16 * 1024 * 1024;
/** One tus PATCH carries this much (a client's usual chunking); the server streams each through. */
const PATCH_BYTES = 4 * 1024 * 1024;
const CONCURRENT_UPLOADS = 4;
const SERVER_POOL_SIZE = 10;
const MIB = 1024 * 1024;

/**
 * Files through the compiled server (libs/files, ADR 0022): a resumable tus upload, sealed in
 * chunks as it arrives, and a download decrypted as it streams, each against a plain copy of the
 * same bytes on the same disk (the local blob store and the copy both live under the OS temporary
 * directory). Also the server's resident memory per concurrent upload.
 */
export const filesTransfer: Scenario = {
  name: NAME,
  summary:
    `a ${FILE_BYTES / MIB} MiB file uploaded over tus (${PATCH_BYTES / MIB} MiB requests) and ` +
    'downloaded through the server compiled and started in a process of its own on a fresh schema ' +
    'of the bench PostgreSQL, vs a plain file copy of the same bytes on the same disk; and server ' +
    `memory with ${CONCURRENT_UPLOADS} uploads in flight`,
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.db.openSibling) {
      context.progress(`${NAME}: skipped, it needs PostgreSQL (the server cannot share PGlite)`);
      return { comparisons: [], tallies: [] };
    }
    const db = await context.db.openSibling();
    const scratch = await mkdtemp(join(tmpdir(), 'll-bench-files-'));
    const identity = await BenchIdentityProvider.start();
    try {
      const server = await startLedgerline(db.url!, identity, SERVER_POOL_SIZE);
      try {
        const owner = await identity.token(BENCH_TENANT, 'files-owner');
        const conversationId = await server.createGroup(owner, 'files bench', ['files-reader']);
        const body = pdfOf(FILE_BYTES);
        const source = join(scratch, 'source.pdf');
        await writeFile(source, body);
        const transfer = new Transfers(server.url, owner, conversationId);
        const copies = plainCopies(scratch, source);

        const comparisons: Comparison[] = [];
        comparisons.push(
          await measureRow(context, {
            scenario: NAME,
            variant: `upload ${FILE_BYTES / MIB} MiB (tus, sealed) vs plain copy`,
            batch: 1,
            concurrency: 1,
            subject: {
              label: 'ledgerline upload',
              eventsPerOp: 1,
              prepare: () => async () => {
                await transfer.upload(body);
              },
            },
            reference: copies,
            ops: 8,
            maxSeconds: 60,
          }),
        );
        const fileId = await transfer.upload(body);
        comparisons.push(
          await measureRow(context, {
            scenario: NAME,
            variant: `download ${FILE_BYTES / MIB} MiB (decrypted as it streams) vs plain copy`,
            batch: 1,
            concurrency: 1,
            subject: {
              label: 'ledgerline download',
              eventsPerOp: 1,
              prepare: () => () => transfer.download(fileId, body.length),
            },
            reference: copies,
            ops: 8,
            maxSeconds: 60,
          }),
        );
        await uploadMemory(context, server, transfer, body);
        return { comparisons, tallies: [] };
      } finally {
        await server.stop();
      }
    } finally {
      await identity.close();
      await rm(scratch, { recursive: true, force: true });
      await db.close();
    }
  },
};

/** Resident memory of the server with several uploads in flight, per upload (progress line). */
async function uploadMemory(
  context: ScenarioContext,
  server: LedgerlineChild,
  transfer: Transfers,
  body: Buffer,
): Promise<void> {
  const before = await server.memory();
  let peak = before.rss;
  let uploading = true;
  const sampling = (async () => {
    while (uploading) {
      peak = Math.max(peak, (await server.memory()).rss);
    }
  })();
  try {
    await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, () => transfer.upload(body)));
  } finally {
    uploading = false;
    await sampling;
  }
  const perUpload = (peak - before.rss) / CONCURRENT_UPLOADS;
  context.progress(
    `${NAME}: server RSS ${(before.rss / MIB).toFixed(1)} MiB before, peak ${(peak / MIB).toFixed(1)} MiB ` +
      `with ${CONCURRENT_UPLOADS} uploads of ${FILE_BYTES / MIB} MiB in flight: ` +
      `${(perUpload / MIB).toFixed(1)} MiB per concurrent upload`,
  );
}

/** The reference: the same bytes copied to a new file on the same disk (kernel copy, no cache tricks). */
function plainCopies(scratch: string, source: string): Workload {
  return {
    label: 'plain file copy',
    eventsPerOp: 1,
    prepare: (worker) => async (i) => {
      const target = join(scratch, `copy-${worker}-${i}.pdf`);
      await copyFile(source, target);
      await rm(target);
    },
  };
}

/** A PDF (its type is checked against the content) of `bytes` bytes, random after the header. */
function pdfOf(bytes: number): Buffer {
  const body = randomBytes(bytes);
  Buffer.from('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n', 'latin1').copy(body, 0);
  return body;
}

class Transfers {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly conversationId: string,
  ) {}

  /** A tus upload of `body` in PATCH_BYTES requests; the file id. */
  async upload(body: Buffer): Promise<string> {
    const created = await fetch(`${this.url}/v1/files/uploads`, {
      method: 'POST',
      headers: this.headers({
        'upload-length': String(body.length),
        'upload-metadata': [
          `conversationId ${b64(this.conversationId)}`,
          `filename ${b64(`bench-${randomUUID()}.pdf`)}`,
          `filetype ${b64('application/pdf')}`,
        ].join(','),
      }),
    });
    if (created.status !== 201) throw new Error(`upload creation answered ${created.status}`);
    const location = new URL(created.headers.get('location')!, this.url);
    let last: Response | undefined;
    for (let offset = 0; offset < body.length; offset += PATCH_BYTES) {
      last = await fetch(location, {
        method: 'PATCH',
        headers: this.headers({
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
        }),
        body: body.subarray(offset, offset + PATCH_BYTES),
      });
      if (last.status !== 204) throw new Error(`upload PATCH answered ${last.status}`);
    }
    const fileId = last?.headers.get('ledgerline-file-id');
    if (!fileId) throw new Error('the finished upload named no file id');
    return fileId;
  }

  /** Downloads the whole file, reading the body as it streams; checks its length. */
  async download(fileId: string, expectedBytes: number): Promise<void> {
    const res = await fetch(`${this.url}/v1/files/${fileId}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (res.status !== 200 || !res.body) throw new Error(`download answered ${res.status}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Uint8Array).byteLength;
    if (bytes !== expectedBytes) throw new Error(`downloaded ${bytes} of ${expectedBytes} bytes`);
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, 'tus-resumable': '1.0.0', ...extra };
  }
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}
