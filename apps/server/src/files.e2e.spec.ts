import { createHash, randomUUID } from 'node:crypto';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { auditStreamId, parseAccessRecorded } from '@ledgerline/audit';
import { conversationStreamId } from '@ledgerline/conversations';
import { DATA_KEYS, type DataKeys } from '@ledgerline/crypto';
import { loadConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  availableDatabases,
  clientHeaders,
  devToken,
  graphqlRequest,
  openTestDatabase,
  type TestDatabase,
} from '@ledgerline/testing';
import {
  ClamdProcess,
  EICAR,
  EICAR_SIGNATURE,
  FILE_RETENTION,
  FILE_UPLOADS,
  clamdMissing,
  type FileRetention,
  type FileUploads,
} from '@ledgerline/files';
import { startServer, type RunningServer } from './bootstrap';
import { RealtimeTestClient } from './testing/realtime-test-client';

// Files through the running server as a client sends them: tus uploads over HTTP (resumed across
// requests), downloads with Range, the bad input the issue lists, a tampered blob on disk, and a
// shredded conversation. The canary stands for PHI: it is the file's content and name, and must
// show up nowhere in the data directory (blobs and the embedded database alike).

const TENANT = 'clinic-files';
const OTHER_TENANT = 'clinic-elsewhere';
const CANARY = `CANARY-wound-${randomUUID()}`;
const MAX_FILE = 4 * 1024 * 1024;
const NO_CLAMD = clamdMissing();

const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupConversationInput!) {
    createGroupConversation(input: $input) {
      conversationId
    }
  }
`;

/** A PDF as `file-type` recognises it, whose body repeats the canary. */
function canaryPdf(size: number): Buffer {
  const head = Buffer.from('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n', 'latin1');
  const filler = Buffer.from(`(${CANARY}) Tj\n`, 'latin1');
  const body = Buffer.alloc(size);
  head.copy(body, 0);
  for (let at = head.length; at < size; at += filler.length) filler.copy(body, at);
  return body;
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function metadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');
}

describe.each(availableDatabases())('files through the server on %s', (kind) => {
  let server: RunningServer;
  let db: TestDatabase | undefined;
  let dataDir: string;
  let nurse: string;
  let doctor: string;
  let outsider: string;
  let elsewhere: string;
  let conversationId: string;
  let clamd: ClamdProcess | undefined;

  const tus = (token: string, extra: Record<string, string> = {}) => ({
    ...clientHeaders(token),
    'tus-resumable': '1.0.0',
    ...extra,
  });

  async function create(
    token: string,
    size: number,
    fields: Record<string, string>,
  ): Promise<Response> {
    return fetch(`${server.url}/v1/files/uploads`, {
      method: 'POST',
      headers: tus(token, { 'upload-length': String(size), 'upload-metadata': metadata(fields) }),
    });
  }

  async function patch(token: string, location: string, offset: number, bytes: Buffer) {
    return fetch(new URL(location, server.url), {
      method: 'PATCH',
      headers: tus(token, {
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
      }),
      body: bytes,
    });
  }

  /** Uploads `bytes` in `pieces` requests; the file id. */
  async function upload(bytes: Buffer, name: string, pieces = 1, token = nurse): Promise<string> {
    const created = await create(token, bytes.length, {
      conversationId,
      filename: name,
      filetype: 'application/pdf',
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const step = Math.ceil(bytes.length / pieces);
    let answer: Response | undefined;
    for (let offset = 0; offset < bytes.length; offset += step) {
      answer = await patch(token, location, offset, bytes.subarray(offset, offset + step));
      expect(answer.status).toBe(204);
    }
    expect(answer!.headers.get('ledgerline-file-status')).toBe('available');
    return answer!.headers.get('ledgerline-file-id')!;
  }

  function download(token: string, fileId: string, headers: Record<string, string> = {}) {
    return fetch(`${server.url}/v1/files/${fileId}`, {
      headers: { ...clientHeaders(token), ...headers },
    });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-files-e2e-'));
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      LEDGERLINE_PORT: '0',
      LEDGERLINE_METRICS_PORT: '0',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_TURN_ENABLED: 'false',
      LEDGERLINE_FILES_MAX_FILE_BYTES: String(MAX_FILE),
      LEDGERLINE_FILES_MAX_TENANT_BYTES: String(3 * MAX_FILE),
    };
    if (kind === 'postgres') {
      db = await openTestDatabase('postgres');
      env['DATABASE_URL'] = db.url!;
    }
    if (!NO_CLAMD) {
      clamd = await ClamdProcess.start();
      env['LEDGERLINE_FILES_CLAMD'] = clamd.socket;
    }
    server = await startServer(loadConfig(env));
    nurse = await devToken(server.url, { tenantId: TENANT, userId: `nurse-${kind}` });
    doctor = await devToken(server.url, { tenantId: TENANT, userId: `doctor-${kind}` });
    outsider = await devToken(server.url, { tenantId: TENANT, userId: `outsider-${kind}` });
    elsewhere = await devToken(server.url, { tenantId: OTHER_TENANT, userId: `nurse-${kind}` });
    const created = await graphqlRequest<{ createGroupConversation: { conversationId: string } }>(
      server.url,
      nurse,
      CREATE_GROUP,
      { input: { title: 'Wound care', members: [{ id: `doctor-${kind}` }] } },
    );
    conversationId = created.createGroupConversation.conversationId;
  }, 240_000);

  afterAll(async () => {
    await server?.shutdown('test done');
    await clamd?.stop();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('takes an upload resumed over three requests, and serves it whole and by range to a member', async () => {
    const bytes = canaryPdf(300_000);
    const fileId = await upload(bytes, `${CANARY} wound "left" heel.pdf`, 3);

    const whole = await download(doctor, fileId);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    expect(whole.headers.get('content-type')).toBe('application/pdf');
    expect(whole.headers.get('x-content-type-options')).toBe('nosniff');
    expect(whole.headers.get('cache-control')).toBe('private, no-store');
    const disposition = whole.headers.get('content-disposition')!;
    expect(disposition).toMatch(/^attachment; filename="(?:[^"\\\r\n]|\\")*"$/);
    expect(disposition).not.toMatch(/[\r\n]/);

    const ranged = await download(doctor, fileId, { range: 'bytes=70000-140000' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 70000-140000/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(70_000, 140_001))).toBe(
      true,
    );
    const suffix = await download(doctor, fileId, { range: 'bytes=-10' });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(-10))).toBe(true);

    const outside = await download(doctor, fileId, { range: `bytes=${bytes.length}-` });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${bytes.length}`);

    // Every download is on record: who, which file, which bytes.
    const ledger = server.app.get<Ledger>(LEDGER);
    const audit = await ledger.readStream(auditStreamId(TENANT));
    const records = audit
      .map((e) => (e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined))
      .filter((r) => r?.action === 'phi.file.downloaded');
    expect(records.map((r) => r!.targetIds)).toEqual(
      expect.arrayContaining([
        [fileId, `bytes=${bytes.length}`],
        [fileId, `bytes=70000-140000/${bytes.length}`],
      ]),
    );
    expect(records[0]).toMatchObject({
      actor: { id: `doctor-${kind}` },
      conversationId,
      subjectUserIds: [`nurse-${kind}`],
    });
  });

  it('shows the canary (content and name) nowhere in the data directory', async () => {
    await upload(canaryPdf(200_000), `${CANARY}.pdf`);
    const needle = Buffer.from(CANARY, 'latin1');
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile() && statSync(path).size > 0 && readFileSync(path).includes(needle))
          hits.push(path);
      }
    };
    walk(dataDir);
    expect(hits).toEqual([]);
  });

  it('serves nothing to a non-member, another tenant, or an unauthenticated caller', async () => {
    const fileId = await upload(canaryPdf(5_000), 'labs.pdf');
    expect((await download(outsider, fileId)).status).toBe(404);
    expect((await download(elsewhere, fileId)).status).toBe(404);
    const anonymous = await fetch(`${server.url}/v1/files/${fileId}`);
    expect(anonymous.status).toBe(401);
    const noConversation = await create(nurse, 10, {
      filename: 'x.pdf',
      filetype: 'application/pdf',
    });
    expect(noConversation.status).toBe(400);
    const notMember = await create(outsider, 10, {
      conversationId,
      filename: 'x.pdf',
      filetype: 'application/pdf',
    });
    expect(notMember.status).toBe(403);
  });

  it.each([
    ['a path separator', '../../etc/passwd.pdf', 'path_separator'],
    ['a backslash', 'C:\\temp\\x.pdf', 'path_separator'],
    ['a control character', 'scan\r\nSet-Cookie: x.pdf', 'control_character'],
    ['a direction override', 'scan\u202Efdp.exe', 'control_character'],
    ['10,000 characters', 'a'.repeat(10_000), 'too_long'],
  ])('refuses a file name with %s before any byte is sent', async (_what, name, problem) => {
    const answer = await create(nurse, 100, {
      conversationId,
      filename: name,
      filetype: 'application/pdf',
    });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { code: string; message: string };
    expect(body).toMatchObject({ code: 'invalid_file_input' });
    expect(body.message).toContain(problem);
  });

  it('refuses a file over the cap at creation, and a declared type that lies at its first bytes', async () => {
    const big = await create(nurse, MAX_FILE + 1, {
      conversationId,
      filename: 'big.pdf',
      filetype: 'application/pdf',
    });
    expect(big.status).toBe(413);

    const bytes = canaryPdf(10_000);
    const created = await create(nurse, bytes.length, {
      conversationId,
      filename: 'photo.png',
      filetype: 'image/png',
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const lied = await patch(nurse, location, 0, bytes);
    expect(lied.status).toBe(400);
    expect(((await lied.json()) as { code: string }).code).toBe('invalid_file_input');
    // Nothing of it is left: the upload is gone.
    const head = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: tus(nurse),
    });
    expect(head.status).toBe(404);

    const exe = await create(nurse, 10, {
      conversationId,
      filename: 'run.exe',
      filetype: 'application/x-msdownload',
    });
    expect(exe.status).toBe(400);
  });

  it('refuses an upload past the tenant’s cap (uploads under way count), until one is terminated', async () => {
    const locations: string[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 4 && !refused; i++) {
      const answer = await create(nurse, MAX_FILE, {
        conversationId,
        filename: `big-${i}.pdf`,
        filetype: 'application/pdf',
      });
      if (answer.status === 201) locations.push(answer.headers.get('location')!);
      else refused = answer;
    }
    expect(refused?.status).toBe(413);
    expect(((await refused!.json()) as { code: string }).code).toBe('too_large');
    for (const location of locations) {
      const gone = await fetch(new URL(location, server.url), {
        method: 'DELETE',
        headers: tus(nurse),
      });
      expect(gone.status).toBe(204);
    }
    const again = await create(nurse, MAX_FILE, {
      conversationId,
      filename: 'big-again.pdf',
      filetype: 'application/pdf',
    });
    expect(again.status).toBe(201);
    await fetch(new URL(again.headers.get('location')!, server.url), {
      method: 'DELETE',
      headers: tus(nurse),
    });
  });

  it('refuses a resumed request at the wrong offset, then resumes from the right one', async () => {
    const bytes = canaryPdf(150_000);
    const created = await create(nurse, bytes.length, {
      conversationId,
      filename: 'resumed.pdf',
      filetype: 'application/pdf',
    });
    const location = created.headers.get('location')!;
    expect((await patch(nurse, location, 0, bytes.subarray(0, 80_000))).status).toBe(204);
    const wrong = await patch(nurse, location, 70_000, bytes.subarray(70_000));
    expect(wrong.status).toBe(409);
    const head = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: tus(nurse),
    });
    expect(head.headers.get('upload-offset')).toBe('80000');
    // Someone else cannot resume (or even see) it.
    const stranger = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: tus(doctor),
    });
    expect(stranger.status).toBe(404);
    const done = await patch(nurse, location, 80_000, bytes.subarray(80_000));
    expect(done.status).toBe(204);
    const fileId = done.headers.get('ledgerline-file-id')!;
    const back = await download(doctor, fileId);
    expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers a storage backend that is down with a retryable error, and resumes once it is back', async () => {
    const bytes = canaryPdf(150_000);
    const created = await create(nurse, bytes.length, {
      conversationId,
      filename: 'outage.pdf',
      filetype: 'application/pdf',
    });
    const location = created.headers.get('location')!;
    expect((await patch(nurse, location, 0, bytes.subarray(0, 70_000))).status).toBe(204);
    // The blob directory becomes unusable: a file where the directory was.
    const store = join(dataDir, 'files');
    renameSync(store, `${store}.away`);
    writeFileSync(store, 'not a directory');
    try {
      const down = await patch(nurse, location, 70_000, bytes.subarray(70_000));
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ code: 'blob_store_unavailable', retryable: true });
    } finally {
      rmSync(store);
      renameSync(`${store}.away`, store);
    }
    // Nothing of the failed request counts: the upload still stands where it stood.
    const head = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: tus(nurse),
    });
    expect(head.headers.get('upload-offset')).toBe('70000');
    const done = await patch(nurse, location, 70_000, bytes.subarray(70_000));
    expect(done.status).toBe(204);
    const back = await download(doctor, done.headers.get('ledgerline-file-id')!);
    expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('drops unfinished uploads once they expire, parts and all', async () => {
    const created = await create(nurse, 200_000, {
      conversationId,
      filename: 'abandoned.pdf',
      filetype: 'application/pdf',
    });
    const location = created.headers.get('location')!;
    expect((await patch(nurse, location, 0, canaryPdf(200_000).subarray(0, 100_000))).status).toBe(
      204,
    );
    const fileId = location.split('/').pop()!;
    expect(readdirSync(join(dataDir, 'files', 'f', fileId))).toEqual(['p0']);
    expect(await server.app.get<FileUploads>(FILE_UPLOADS).expire(0)).toBeGreaterThanOrEqual(1);
    const head = await fetch(new URL(location, server.url), {
      method: 'HEAD',
      headers: tus(nurse),
    });
    expect(head.status).toBe(404);
    expect(readdirSync(join(dataDir, 'files', 'f', fileId))).toEqual([]);
  });

  it('never serves a tampered blob: a flipped byte fails the download cleanly', async () => {
    const bytes = canaryPdf(200_000);
    const fileId = await upload(bytes, 'tampered.pdf');
    const dir = join(dataDir, 'files', 'f', fileId);
    const [blob] = readdirSync(dir);
    const path = join(dir, blob!);
    const stored = readFileSync(path);
    // In the first chunk: refused before any byte is sent.
    const first = Buffer.from(stored);
    first[100]! ^= 0x01;
    writeFileSync(path, first);
    const early = await download(doctor, fileId);
    expect(early.status).toBe(500);
    expect(((await early.json()) as { code: string }).code).toBe('file_corrupt');
    // In a later chunk: the bytes before it are genuine, then the response is cut short.
    const later = Buffer.from(stored);
    later[stored.length - 50]! ^= 0x01;
    writeFileSync(path, later);
    const cut = await download(doctor, fileId);
    expect(cut.status).toBe(200);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    writeFileSync(path, stored);
    expect(Buffer.from(await (await download(doctor, fileId)).arrayBuffer()).equals(bytes)).toBe(
      true,
    );
  });

  (NO_CLAMD ? it.skip : it)(
    `quarantines EICAR, tells its sender, and never serves it${NO_CLAMD ? ` (skipped: ${NO_CLAMD})` : ''}`,
    async () => {
      const created = await create(nurse, EICAR.length, {
        conversationId,
        filename: 'eicar.txt',
        filetype: 'text/plain',
      });
      expect(created.status).toBe(201);
      const done = await patch(nurse, created.headers.get('location')!, 0, EICAR);
      expect(done.status).toBe(204);
      expect(done.headers.get('ledgerline-file-status')).toBe('quarantined');
      const fileId = done.headers.get('ledgerline-file-id')!;
      const refused = await download(doctor, fileId);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('file_quarantined');
      const ledger = server.app.get<Ledger>(LEDGER);
      const events = await ledger.readStream(conversationStreamId(TENANT, conversationId));
      const quarantined = events
        .filter((e) => e.type === 'FileQuarantined' && e.body.status === 'available')
        .map(
          (e) =>
            JSON.parse((e.body as { payload: Buffer }).payload.toString('utf8')) as {
              fileId: string;
              signature: string;
            },
        );
      expect(quarantined).toContainEqual(
        expect.objectContaining({ fileId, signature: `${EICAR_SIGNATURE}.UNOFFICIAL` }),
      );
      // A clean text file goes through the same scanner.
      const clean = Buffer.from('Blood pressure 120/80, pulse 72.\n');
      const ok = await create(nurse, clean.length, {
        conversationId,
        filename: 'vitals.txt',
        filetype: 'text/plain',
      });
      const okDone = await patch(nurse, ok.headers.get('location')!, 0, clean);
      expect(okDone.headers.get('ledgerline-file-status')).toBe('available');
    },
  );

  it('sends a message with attachments; its history shows their metadata and download URLs', async () => {
    const bytes = canaryPdf(4_000);
    const fileId = await upload(bytes, 'referral.pdf');
    const sent = await graphqlRequest<{ sendMessage: { messageId: string } }>(
      server.url,
      nurse,
      /* GraphQL */ `
        mutation ($input: SendMessageInput!) {
          sendMessage(input: $input) {
            messageId
          }
        }
      `,
      {
        input: {
          conversationId,
          clientMessageId: `with-file-${kind}`,
          text: 'Referral attached',
          attachmentIds: [fileId],
        },
      },
    );
    const messageId = sent.sendMessage.messageId;
    type Page = {
      messages: {
        items: {
          id: string;
          attachments: {
            id: string;
            name: string;
            mediaType: string;
            size: number;
            sha256: string;
            downloadUrl: string;
          }[];
        }[];
      };
    };
    let attachments: Page['messages']['items'][number]['attachments'] = [];
    for (let i = 0; i < 100 && attachments.length === 0; i++) {
      const page = await graphqlRequest<Page>(
        server.url,
        doctor,
        /* GraphQL */ `
          query ($c: ID!) {
            messages(conversationId: $c, first: 50) {
              items {
                id
                attachments {
                  id
                  name
                  mediaType
                  size
                  sha256
                  downloadUrl
                }
              }
            }
          }
        `,
        { c: conversationId },
      );
      attachments = page.messages.items.find((m) => m.id === messageId)?.attachments ?? [];
      if (attachments.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(attachments).toEqual([
      {
        id: fileId,
        name: 'referral.pdf',
        mediaType: 'application/pdf',
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        downloadUrl: `/v1/files/${fileId}`,
      },
    ]);
    const fetched = await fetch(new URL(attachments[0]!.downloadUrl, server.url), {
      headers: clientHeaders(doctor),
    });
    expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);

    // Only the sender's own files of this conversation can be attached.
    await expect(
      graphqlRequest(
        server.url,
        doctor,
        /* GraphQL */ `
          mutation ($input: SendMessageInput!) {
            sendMessage(input: $input) {
              messageId
            }
          }
        `,
        {
          input: {
            conversationId,
            clientMessageId: `not-mine-${kind}`,
            text: 'Forwarding',
            attachmentIds: [fileId],
          },
        },
      ),
    ).rejects.toThrow(/NOT_FOUND|file_not_found/);
  });

  it('sends with attachments over the realtime protocol too, and members receive their ids', async () => {
    const fileId = await upload(canaryPdf(2_000), 'realtime.pdf');
    const sender = await RealtimeTestClient.hello('nurse', server.url, { token: nurse });
    const reader = await RealtimeTestClient.hello('doctor', server.url, { token: doctor });
    try {
      const synced = await reader.request('sync', {
        conversations: [{ conversationId, revision: -1 }],
      });
      expect(synced.ok).toBe(true);
      // The uploads' own events are in the catch-up as `Other` (readable), never as `Unavailable`,
      // which tells a client the event was shredded.
      const caughtUp = reader.events(conversationId) as unknown as {
        kind: string;
        type?: string;
      }[];
      expect(caughtUp.filter((e) => e.kind === 'Unavailable')).toEqual([]);
      expect(caughtUp).toContainEqual(
        expect.objectContaining({ kind: 'Other', eventType: 'FileUploaded' }),
      );
      const reply = await sender.request('send', {
        conversationId,
        clientMessageId: `rt-file-${kind}`,
        text: 'Over the socket',
        attachmentIds: [fileId],
      });
      expect(reply).toMatchObject({ ok: true });
      const messageId = (reply as unknown as { messageId: string }).messageId;
      let arrived: object | undefined;
      for (let i = 0; i < 200 && !arrived; i++) {
        arrived = reader
          .events(conversationId)
          .find((e) => (e as unknown as { messageId?: string }).messageId === messageId);
        if (!arrived) await new Promise((r) => setTimeout(r, 50));
      }
      expect(arrived).toMatchObject({ kind: 'MessageSent', attachmentIds: [fileId] });
      const refused = await sender.request('send', {
        conversationId,
        clientMessageId: `rt-bad-${kind}`,
        text: 'x',
        attachmentIds: ['not-a-uuid'],
      });
      expect(refused.ok).toBe(false);
    } finally {
      await Promise.all([sender.close(), reader.close()]);
    }
  });

  it('makes a sealed thumbnail of an image, served to members', async () => {
    const png = await sharp({
      create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 40, b: 40 } },
    })
      .png()
      .toBuffer();
    const created = await create(nurse, png.length, {
      conversationId,
      filename: 'wound.png',
      filetype: 'image/png',
    });
    const done = await patch(nurse, created.headers.get('location')!, 0, png);
    expect(done.status).toBe(204);
    const fileId = done.headers.get('ledgerline-file-id')!;
    const { file } = await graphqlRequest<{ file: { thumbnailUrl: string | null } | null }>(
      server.url,
      doctor,
      /* GraphQL */ `
        query ($id: ID!) {
          file(id: $id) {
            thumbnailUrl
          }
        }
      `,
      { id: fileId },
    );
    expect(file?.thumbnailUrl).toBe(`/v1/files/${fileId}/thumbnail`);
    const thumb = await fetch(new URL(file!.thumbnailUrl!, server.url), {
      headers: clientHeaders(doctor),
    });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({
      format: 'webp',
      width: 320,
      height: 240,
    });
    // Stored sealed: the blob is not a WebP (nor a PNG).
    const stored = readFileSync(join(dataDir, 'files', 'f', fileId, 'thumb'));
    expect(stored.subarray(0, 3).toString('latin1')).toBe('LLF');
    expect(stored.includes(Buffer.from('WEBP'))).toBe(false);
    // Outsiders get nothing.
    const outside = await fetch(`${server.url}/v1/files/${fileId}/thumbnail`, {
      headers: clientHeaders(outsider),
    });
    expect(outside.status).toBe(404);
  });

  it('a removed file is gone; a shredded conversation serves none of its files', async () => {
    const removed = await upload(canaryPdf(3_000), 'removed.pdf');
    const gone = await fetch(`${server.url}/v1/files/${removed}`, {
      method: 'DELETE',
      headers: clientHeaders(nurse),
    });
    expect(gone.status).toBe(204);
    // The read model follows the event; the file answers 404 once it has.
    let status = 200;
    for (let i = 0; i < 100 && status !== 404; i++) {
      status = (await download(doctor, removed)).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(404);

    const fileId = await upload(canaryPdf(3_000), 'shredded.pdf');
    expect((await download(doctor, fileId)).status).toBe(200);
    await server.app
      .get<DataKeys>(DATA_KEYS)
      .shred({ tenantId: TENANT, streamId: conversationStreamId(TENANT, conversationId) });
    const after = await download(doctor, fileId);
    expect(after.status).toBe(410);
    expect(((await after.json()) as { code: string }).code).toBe('file_shredded');

    // The retention job deletes the unreadable blobs, and says so in the audit log.
    expect(readdirSync(join(dataDir, 'files', 'f', fileId))).not.toEqual([]);
    const swept = await server.app.get<FileRetention>(FILE_RETENTION).sweep();
    expect(swept.blobsDeleted).toBeGreaterThan(0);
    expect(readdirSync(join(dataDir, 'files', 'f', fileId))).toEqual([]);
    expect((await server.app.get<FileRetention>(FILE_RETENTION).sweep()).keyIds).toEqual([]);
    const audit = await server.app.get<Ledger>(LEDGER).readStream(auditStreamId(TENANT));
    const deletions = audit
      .map((e) => (e.body.status === 'available' ? parseAccessRecorded(e.body.payload) : undefined))
      .filter((r) => r?.action === 'files.blobs_deleted');
    expect(deletions.map((r) => r!.targetIds[0])).toEqual(swept.keyIds);
  });
});
