import { sealMatches } from '@ledgerline/ledger';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableDatabases } from '@ledgerline/testing';
import type { AuditBundle } from './audit-bundle';
import {
  BUNDLE_FILES,
  OPENSSL_VERIFY_COMMANDS,
  readBundleText,
  writeBundleDirectory,
} from './bundle-files';
import { verifyBundle, type BundleVerification } from './bundle-verifier';
import { AlteredEventError, CheckpointRaceError, UnsealedEventError } from './checkpoint.errors';
import { leafHashOf, leafInputOf } from './leaf';
import { MerkleTree } from './merkle';
import { TreeHeadSigner } from './signing-key';
import { SigningCertificate, treeHeadText, type SignedTreeHead } from './tree-head';
import {
  openCheckpointFixture,
  positionOf,
  type CheckpointFixture,
} from './testing/checkpoint-fixture';

const A = 'clinic-a';
const B = 'clinic-b';

const text = (bundle: unknown) => JSON.stringify(bundle);
const clone = (bundle: AuditBundle): AuditBundle => JSON.parse(text(bundle)) as AuditBundle;
const failuresOf = (r: BundleVerification) =>
  r.failures.map((f) => `${f.check} ${f.where}: ${f.message}`);

function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version']).status === 0;
}

for (const kind of availableDatabases()) {
  describe(`signed Merkle checkpoints on ${kind}`, () => {
    let c: CheckpointFixture;
    let heads: SignedTreeHead[];
    let bundle: AuditBundle;
    let from: Date;
    let to: Date;

    beforeAll(async () => {
      c = await openCheckpointFixture(kind);
      await c.append(A, `note:${A}:1`, 3);
      await c.append(B, `note:${B}:1`, 2);
      await c.append(A, `note:${A}:2`, 2);
      const first = await c.job.run();
      from = new Date(c.f.clock.now().getTime() + 1);
      await c.append(A, `note:${A}:1`, 2);
      await c.append(B, `note:${B}:1`, 1);
      await c.append(A, `note:${A}:3`, 1);
      const second = await c.job.run();
      await c.append(A, `note:${A}:2`, 2);
      await c.append(B, `note:${B}:2`, 2);
      to = c.f.clock.now();
      const third = await c.job.run();
      heads = [first, second, third].map((o) => {
        if (o.status !== 'signed') throw new Error('expected a signed checkpoint');
        const { treeSize, rootHash, timestamp, signature } = o.head;
        return { treeSize, rootHash, timestamp, signature };
      });
      ({ bundle } = await c.exporter.export({ tenantId: A, from, to: new Date(to.getTime() + 1) }));
    });
    afterAll(async () => {
      await c?.close();
    });

    describe('the checkpoint job', () => {
      it('folds every event in global order into an RFC 9162 tree and signs its head', async () => {
        const events = await c.allEvents();
        expect(heads.map((h) => h.treeSize)).toEqual([7, 11, 15]);
        const tree = MerkleTree.fromLeafHashes(events.map((e) => leafHashOf(leafInputOf(e))));
        for (const h of heads) {
          expect(h.rootHash).toBe(tree.root(h.treeSize).toString('hex'));
          expect(c.signer.certificate.verifyTreeHead(h)).toBe(true);
        }
        expect(await c.log.leafHashes(0, 15)).toEqual(
          events.map((e) => leafHashOf(leafInputOf(e))),
        );
      });

      it('signs nothing new when no event was appended', async () => {
        const again = await c.job.run();
        expect(again.status).toBe('unchanged');
        expect(again.head?.treeSize).toBe(15);
        expect(again.head?.signature).toBe(heads[2]!.signature);
      });

      it('recomputes every ledger seal exactly as the ledger made it', async () => {
        for (const e of await c.allEvents()) expect(sealMatches(e)).toBe(true);
      });

      it('keeps the generated key private, and loads the same key next time', async () => {
        const key = await stat(join(c.signingDir, 'key.pem'));
        expect(key.mode & 0o777).toBe(0o600);
        const reopened = await TreeHeadSigner.open({ dir: c.signingDir, createIfMissing: false });
        expect(reopened.certificate.fingerprint).toBe(c.signer.certificate.fingerprint);
      });

      it('refuses changes to the leaves and heads', async () => {
        await expect(c.f.db.client.query('delete from ll_tree_heads')).rejects.toThrow();
        await expect(
          c.f.db.client.query('update ll_merkle_leaves set idx = idx + 100'),
        ).rejects.toThrow();
      });
    });

    describe('export and offline verification', () => {
      it("exports the tenant's records in the range, metadata only, and the bundle verifies", () => {
        expect(bundle.tenantId).toBe(A);
        expect(bundle.treeHead).toEqual(expect.objectContaining({ treeSize: 15 }));
        // Recorded after the first checkpoint, up to the end: 2 + 1 + 2 of tenant A.
        expect(bundle.records).toHaveLength(5);
        expect(bundle.records.every((r) => r.tenantId === A)).toBe(true);
        expect(text(bundle)).not.toContain('CANARY');
        expect(bundle.earlierHeads.map((h) => h.treeSize)).toEqual([11]);

        const result = verifyBundle(text(bundle));
        expect(failuresOf(result)).toEqual([]);
        expect(result.ok).toBe(true);
        expect(result.notes.join('\n')).toContain('certificate not pinned');
      });

      it('verifies with the certificate pinned, from the written directory', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'll-bundle-'));
        try {
          await writeBundleDirectory(dir, bundle);
          const { text: written, source } = await readBundleText(dir);
          expect(source).toBe(join(dir, BUNDLE_FILES.bundle));
          const pinned = verifyBundle(written, {
            trustedCertificatePem: await readFile(join(dir, 'cert.pem'), 'utf8'),
          });
          expect(failuresOf(pinned)).toEqual([]);
          expect(pinned.pinned).toBe(true);
          expect(pinned.notes.join('\n')).not.toContain('not pinned');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('proves the latest head extends a known earlier head, and refuses a rollback from a later one', async () => {
        // The range holds only the head of size 11; the known head of size 7 is added for the auditor.
        const withKnown = await c.exporter.export({ tenantId: A, from, knownHead: heads[0] });
        expect(withKnown.bundle.earlierHeads.map((h) => h.treeSize)).toEqual([7, 11]);
        expect(
          failuresOf(verifyBundle(text(withKnown.bundle), { knownHeadText: text(heads[0]) })),
        ).toEqual([]);

        // An auditor who saw the head of size 15 is handed a bundle cut at the head of size 11.
        const older = clone(withKnown.bundle);
        older.treeHead = { ...heads[1]! };
        const rolledBack = verifyBundle(text(older), { knownHeadText: text(heads[2]) });
        expect(rolledBack.ok).toBe(false);
        expect(failuresOf(rolledBack)).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^known-head known head \(size 15, .*rollback: .*size 11/),
          ]),
        );
      });

      it('reports a forked history: a known head of the same size with another root', () => {
        const forged = c.signer.signTreeHead({
          treeSize: 11,
          rootHash: 'ab'.repeat(32),
          timestamp: heads[1]!.timestamp,
        });
        const r = verifyBundle(text(bundle), { knownHeadText: text(forged) });
        expect(failuresOf(r)).toEqual([expect.stringMatching(/known head \(size 11, .*fork/)]);
      });

      it('names the record, event and leaf of a changed record', () => {
        const changed = clone(bundle);
        changed.records[2]!.type = 'NoteDeleted';
        const r = verifyBundle(text(changed));
        const { eventId, leafIndex } = changed.records[2]!;
        expect(r.ok).toBe(false);
        expect(failuresOf(r)).toEqual([
          expect.stringMatching(
            new RegExp(
              `^inclusion record 2 \\(event ${eventId}, leaf ${leafIndex}\\): not in the signed tree`,
            ),
          ),
          `record record 2 (event ${eventId}, leaf ${leafIndex}): differs from the leaf listed for it in the signed export manifest: altered`,
        ]);
      });

      it('names the leaf of a removed record, and where it was', () => {
        const removed = clone(bundle);
        const [gone] = removed.records.splice(1, 1);
        const r = verifyBundle(text(removed));
        expect(failuresOf(r)).toEqual(
          expect.arrayContaining([
            `record leaf ${gone!.leafIndex} (listed in the signed export manifest): record missing from the bundle (after record 0, before record 1)`,
          ]),
        );
      });

      it('names reordered records', () => {
        const reordered = clone(bundle);
        const [x, y] = [reordered.records[3]!, reordered.records[4]!];
        reordered.records[3] = y;
        reordered.records[4] = x;
        const r = verifyBundle(text(reordered));
        expect(failuresOf(r)).toEqual(
          expect.arrayContaining([
            expect.stringMatching(
              new RegExp(
                `^order record 4 \\(event ${x.eventId}, leaf ${x.leafIndex}\\): out of order`,
              ),
            ),
          ]),
        );
      });

      it('reports a truncated or malformed file with where it broke', () => {
        const full = JSON.stringify(bundle, null, 2);
        const truncated = verifyBundle(full.slice(0, Math.floor(full.length / 2)), {
          source: 'out/bundle.json',
        });
        expect(truncated.ok).toBe(false);
        expect(failuresOf(truncated)).toEqual([
          expect.stringMatching(
            /^format out\/bundle.json: not valid JSON \(truncated or malformed\)/,
          ),
        ]);

        const malformed = clone(bundle) as unknown as { records: Record<string, unknown>[] };
        malformed.records[1]!['leafIndex'] = 'seven';
        delete malformed.records[2]!['sealHash'];
        const r = verifyBundle(text(malformed));
        expect(failuresOf(r)).toEqual([
          expect.stringMatching(/^format bundle.json: records\[1\].leafIndex: .*expected number/),
          expect.stringMatching(/^format bundle.json: records\[2\].sealHash: /),
        ]);
        expect(verifyBundle('[]').ok).toBe(false);
        expect(verifyBundle('').ok).toBe(false);
      });

      it('reports a tree head signed by another key, and a swapped certificate when pinned', async () => {
        const material = TreeHeadSigner.createKeyMaterial({ clock: c.f.clock });
        const other = TreeHeadSigner.fromPem(material.certificatePem, material.privateKeyPem);
        const resigned = clone(bundle);
        resigned.treeHead = other.signTreeHead(bundle.treeHead);
        expect(failuresOf(verifyBundle(text(resigned)))).toEqual([
          'tree-head signed tree head (size 15, signed ' +
            bundle.treeHead.timestamp +
            "): signature does not verify with the bundle's certificate",
        ]);

        // Everything re-signed with the other key and its certificate: consistent on its own,
        // caught only by pinning the deployment's certificate.
        const swapped = clone(resigned);
        swapped.certificate = other.certificate.pem;
        swapped.earlierHeads = swapped.earlierHeads.map((h) => ({
          ...other.signTreeHead(h),
          consistencyProof: h.consistencyProof,
        }));
        swapped.manifest.signature = other
          .sign(Buffer.from(swapped.manifest.text))
          .toString('base64');
        expect(verifyBundle(text(swapped)).ok).toBe(true);
        const pinned = verifyBundle(text(swapped), {
          trustedCertificatePem: c.signer.certificate.pem,
        });
        expect(pinned.ok).toBe(false);
        expect(failuresOf(pinned)).toEqual(
          expect.arrayContaining([
            expect.stringMatching(
              /^certificate bundle.json: certificate: SHA-256 fingerprint .* is not the pinned certificate's/,
            ),
            expect.stringMatching(
              /^tree-head .*signature does not verify with the pinned certificate/,
            ),
            'manifest manifest: signature does not verify with the pinned certificate',
          ]),
        );
      });

      it('reports an earlier head whose consistency proof does not hold', () => {
        const bad = clone(bundle);
        bad.earlierHeads[0]!.consistencyProof[0] = 'cd'.repeat(32);
        expect(failuresOf(verifyBundle(text(bad)))).toEqual([
          expect.stringMatching(
            /^earlier-head earlier head 0 \(size 11, .*consistency proof .* does not verify/,
          ),
        ]);
      });
    });

    describe('openssl', () => {
      const maybe = hasOpenssl() ? it : it.skip;
      maybe(
        'verifies a real tree head signature with the documented command, and not a changed head',
        async () => {
          const dir = await mkdtemp(join(tmpdir(), 'll-openssl-'));
          try {
            await writeBundleDirectory(dir, bundle);
            const run = (command: string) =>
              spawnSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8' });
            const [extract, verifyHead, verifyManifest] = OPENSSL_VERIFY_COMMANDS;
            expect(run(extract).status).toBe(0);
            const ok = run(verifyHead);
            expect(ok.status).toBe(0);
            expect(ok.stdout.trim()).toBe('Verified OK');
            expect(run(verifyManifest).stdout.trim()).toBe('Verified OK');
            expect(await readFile(join(dir, 'sth.txt'), 'utf8')).toBe(
              treeHeadText(bundle.treeHead),
            );

            await writeFile(
              join(dir, 'sth.txt'),
              treeHeadText({ ...bundle.treeHead, treeSize: bundle.treeHead.treeSize - 1 }),
            );
            const bad = run(verifyHead);
            expect(bad.status).not.toBe(0);
            expect(bad.stdout + bad.stderr).toContain('Verification failure');
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      );

      maybe('reads the generated certificate as a self-signed X.509 certificate', () => {
        const out = execFileSync('openssl', ['x509', '-noout', '-subject', '-issuer'], {
          input: c.signer.certificate.pem,
          encoding: 'utf8',
        });
        expect(out).toMatch(/subject=.*Ledgerline audit checkpoint signer/);
        expect(out).toMatch(/issuer=.*Ledgerline audit checkpoint signer/);
      });
    });

    it('verify-log finds the intact log consistent with every signed head', async () => {
      const r = await c.verifier.verify({ knownHead: heads[2] });
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.heads).toBe(3);
      expect(r.events).toBe(15);
    });
  });

  describe(`tampering after an export is caught against the earlier signed head, on ${kind}`, () => {
    let c: CheckpointFixture;
    let known: SignedTreeHead;

    beforeEach(async () => {
      c = await openCheckpointFixture(kind);
      await c.append(A, `note:${A}:1`, 4);
      await c.append(B, `note:${B}:1`, 2);
      await c.append(A, `note:${A}:2`, 3);
      await c.job.run();
      const { bundle } = await c.exporter.export({ tenantId: A });
      known = bundle.treeHead;
      expect(verifyBundle(text(bundle)).ok).toBe(true);
      // More events and another checkpoint after the export.
      await c.append(A, `note:${A}:1`, 2);
      await c.job.run();
    });
    afterEach(async () => {
      await c?.close();
    });

    const target = async (tenant: string, stream: string, revision: bigint) => {
      const e = (await c.allEvents()).find(
        (x) => x.tenantId === tenant && x.streamId === stream && x.revision === revision,
      )!;
      return { event: e, position: positionOf(e) };
    };

    it('a flipped byte in an event body', async () => {
      const { event, position } = await target(A, `note:${A}:1`, 1n);
      await c.tamper(
        'update ll_events set data = set_byte(data, 3, (get_byte(data, 3) # 1)) where event_id = $1',
        [event.eventId],
      );
      const r = await c.verifier.verify({ knownHead: known });
      expect(r.ok).toBe(false);
      expect(r.failures).toHaveLength(1);
      const [failure] = r.failures;
      expect(failure!.check).toBe('content');
      expect(failure!.where).toContain(`position ${position} (stream note:${A}:1 revision 1`);
      expect(failure!.message).toBe('content does not match its seal hash: altered');
    });

    it('a flipped byte in a seal hash: verify-log and a new export both fail', async () => {
      const { event, position } = await target(A, `note:${A}:2`, 0n);
      const hash = (event.metadata['seal'] as { hash: string }).hash;
      const flipped = (hash[0] === '0' ? '1' : '0') + hash.slice(1);
      await c.tamper(
        `update ll_events set metadata = jsonb_set(metadata, '{seal,hash}', to_jsonb($2::text)) where event_id = $1`,
        [event.eventId, flipped],
      );
      const r = await c.verifier.verify({ knownHead: known });
      const lines = r.failures.map((f) => `${f.check} ${f.where}: ${f.message}`);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^content position ${position.replace('.', '\\.')} `)),
          expect.stringMatching(
            new RegExp(
              `^leaf leaf \\d+ at position ${position.replace('.', '\\.')} .*differs from the one signed`,
            ),
          ),
          expect.stringMatching(/^tree-head signed head \(size 9, .*differs from the signed root/),
          expect.stringMatching(/^known-head known head \(size 9, .*the log was rewritten/),
        ]),
      );

      const again = await c.exporter.export({ tenantId: A });
      const v = verifyBundle(text(again.bundle), { knownHeadText: text(known) });
      expect(v.ok).toBe(false);
      expect(failuresOf(v)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^inclusion record \\d+ \\(event ${event.eventId}, `)),
        ]),
      );
    });

    it('a deleted row', async () => {
      const { event, position } = await target(A, `note:${A}:1`, 2n);
      await c.tamper('delete from ll_events where event_id = $1', [event.eventId]);
      const r = await c.verifier.verify({ knownHead: known });
      const lines = r.failures.map((f) => `${f.check} ${f.where}: ${f.message}`);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(
              `^leaf leaf 2 at position ${position.replace('.', '\\.')} \\(stream note:${A}:1 revision 2, event ${event.eventId}\\): the signed event is missing from the log: deleted`,
            ),
          ),
          expect.stringMatching(
            /^chain .*revision 3.*revision\(s\) 2\.\.2 of the stream are missing/,
          ),
          expect.stringMatching(/^tree-head signed head \(size 9, /),
        ]),
      );

      const again = await c.exporter.export({ tenantId: A });
      expect(again.warnings.join('\n')).toContain(`event ${event.eventId}`);
      const v = verifyBundle(text(again.bundle));
      expect(failuresOf(v)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^record leaf 2 \(listed in the signed export manifest\): record missing/,
          ),
          expect.stringMatching(/^chain .*revision\(s\) 2\.\.2 missing/),
        ]),
      );
    });

    it('a truncated tail, even with the heads that covered it removed too', async () => {
      const events = await c.allEvents();
      const tail = events.slice(-4);
      await c.tamper('delete from ll_events where event_id = any($1::uuid[])', [
        tail.map((e) => e.eventId),
      ]);
      const r = await c.verifier.verify({ knownHead: known });
      const lines = r.failures.map((f) => `${f.check} ${f.where}: ${f.message}`);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^truncation signed head \(size 11, .*the log holds 7 event\(s\), fewer than the 11 the head signed: 4 missing/,
          ),
          expect.stringMatching(
            new RegExp(
              `^leaf leaf 7 at position ${positionOf(tail[0]!).replace('.', '\\.')} .*deleted`,
            ),
          ),
        ]),
      );

      // The attacker also drops the heads and leaves past the truncation: only a head the
      // auditor kept shows the rollback.
      await c.tamper('delete from ll_tree_heads where tree_size > 7');
      await c.tamper('delete from ll_merkle_leaves where idx >= 7');
      const hidden = await c.verifier.verify();
      expect(hidden.ok).toBe(true);
      const caught = await c.verifier.verify({ knownHead: known });
      expect(caught.failures).toEqual([
        expect.objectContaining({
          check: 'known-head',
          message: 'rollback: the largest stored signed head has size 0',
        }),
      ]);
    });
  });

  describe(`what the checkpoint job refuses to sign, on ${kind}`, () => {
    let c: CheckpointFixture;
    beforeEach(async () => {
      c = await openCheckpointFixture(kind);
    });
    afterEach(async () => {
      await c?.close();
    });

    it('an event without a seal, named by position', async () => {
      await c.append(A, `note:${A}:1`, 1);
      await c.f.store.appendToStream(
        `note:${A}:raw`,
        [
          {
            eventId: randomUUID(),
            type: 'Raw',
            schemaVersion: 1,
            tenantId: A,
            metadata: {},
            data: Buffer.from('x'),
          },
        ],
        'no_stream',
      );
      const raw = (await c.allEvents())[1]!;
      const error = await c.job.run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsealedEventError);
      expect((error as Error).message).toContain(`position ${positionOf(raw)}`);
      expect(await c.log.latestHead()).toBeUndefined();
    });

    it('an event altered before its first checkpoint', async () => {
      await c.append(A, `note:${A}:1`, 2);
      await c.tamper("update ll_events set data = data || '\\x00'::bytea where revision = 1");
      await expect(c.job.run()).rejects.toBeInstanceOf(AlteredEventError);
    });

    it('a second writer racing the first: one signs, the other backs off', async () => {
      await c.append(A, `note:${A}:1`, 3);
      const outcomes = await Promise.allSettled([c.job.run(), c.job.run()]);
      const signed = outcomes.filter(
        (o) => o.status === 'fulfilled' && o.value.status === 'signed',
      );
      expect(signed.length).toBeGreaterThanOrEqual(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(CheckpointRaceError);
      }
      expect((await c.log.latestHead())?.treeSize).toBe(3);
      expect((await c.verifier.verify()).ok).toBe(true);
    });

    it('the key and certificate are checked to belong together', async () => {
      const a = TreeHeadSigner.createKeyMaterial();
      const b = TreeHeadSigner.createKeyMaterial();
      expect(() => TreeHeadSigner.fromPem(a.certificatePem, b.privateKeyPem)).toThrow(
        'does not belong',
      );
      expect(() => SigningCertificate.fromPem('-----BEGIN CERTIFICATE-----\nAAAA\n')).toThrow();
    });
  });
}
