import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import type { Command } from 'commander';
import {
  deploymentSigningDir,
  openDeploymentSigner,
  AuditExporter,
  AuditLogProjection,
  AuditLogVerifier,
  BUNDLE_FILES,
  CheckpointJob,
  LogVerifier,
  MerkleLogStore,
  SigningCertificate,
  SigningKeyError,
  formatFinding,
  readBundleText,
  signedTreeHeadSchema,
  verifyBundle,
  writeBundleDirectory,
  type Finding,
  type SignedTreeHead,
  auditConfig,
} from '@ledgerline/audit';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  CLOCK,
  LedgerlineError,
  ValidationError,
  type Clock,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { recordOperatorAccess, withCliContext } from './cli-context';

/** Event ids an export's access record lists at most (a record is one event, under its size cap). */
const EXPORT_IDS_RECORDED = 10_000;

type Out = (line: string) => void;

/** A verification found problems; they were printed before this is thrown (exit status 1). */
export class VerificationFailedError extends LedgerlineError {
  readonly code = 'verification_failed';
}

/**
 * `ledgerline audit …`: signed Merkle checkpoints over the event log. `checkpoint`, `export` and
 * `verify-log` open the database; `verify` runs offline on a bundle alone.
 */
export function registerAuditCommands(
  program: Command,
  config: () => LedgerlineConfig,
  out: Out,
): void {
  const audit = program
    .command('audit')
    .description('signed Merkle checkpoints: checkpoint, export and verify (offline, or the log)');

  audit
    .command('checkpoint')
    .description('fold the events appended since the last checkpoint into the tree; sign its head')
    .action(() =>
      withCliContext(config(), async (app) => {
        const { store, log, clock } = services(app);
        const signer = await openDeploymentSigner(config(), true);
        const job = new CheckpointJob(store, log, signer, clock);
        for (;;) {
          const outcome = await job.run();
          if (outcome.status === 'unchanged') {
            out(
              outcome.head
                ? `no new events: the tree stays at size ${outcome.head.treeSize} (root ${outcome.head.rootHash}, signed ${outcome.head.timestamp})`
                : 'no events to checkpoint yet',
            );
            return;
          }
          const h = outcome.head;
          out(
            `signed tree head: size ${h.treeSize} (+${outcome.added}), root ${h.rootHash}, signed ${h.timestamp}`,
          );
          if (!outcome.more) return;
        }
      }),
    );

  audit
    .command('export')
    .description(
      "write a tenant's audit bundle: records (metadata, and each access record's content), proofs, signed heads, certificate",
    )
    .requiredOption('--tenant <id>', 'the tenant whose events to export')
    .option('--from <iso-time>', 'events recorded at or after this time')
    .option('--to <iso-time>', 'events recorded before this time')
    .option('--known-head <head.json>', 'also prove the latest head extends this earlier head')
    .requiredOption('--out <dir>', 'directory for bundle.json, sth.txt, sth.sig, cert.pem, …')
    .action(
      (opts: { tenant: string; from?: string; to?: string; knownHead?: string; out: string }) => {
        const from = parseTime(opts.from, 'from');
        const to = parseTime(opts.to, 'to');
        return withCliContext(config(), async (app) => {
          const knownHead = opts.knownHead ? await readHead(opts.knownHead) : undefined;
          const { store, log, clock } = services(app);
          const signer = await openDeploymentSigner(config(), false);
          const exporter = new AuditExporter(store, log, signer, clock, app.get<Ledger>(LEDGER));
          const { bundle, warnings } = await exporter.export({
            tenantId: opts.tenant,
            from,
            to,
            knownHead,
          });
          for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
          // The export is an access event of the tenant it exports, naming what left (event ids).
          await recordOperatorAccess(app, {
            tenantId: bundle.tenantId,
            action: 'audit.exported',
            resourceType: 'audit_bundle',
            targetIds: bundle.records.slice(0, EXPORT_IDS_RECORDED).map((r) => r.eventId),
          });
          await writeBundleDirectory(opts.out, bundle);
          out(
            `exported ${bundle.records.length} record(s) of tenant ${bundle.tenantId} to ${opts.out}, proven against the signed tree head of size ${bundle.treeHead.treeSize} (signed ${bundle.treeHead.timestamp})`,
          );
          out(`certificate SHA-256 fingerprint: ${signer.certificate.fingerprint}`);
        });
      },
    );

  audit
    .command('verify')
    .description('check an audit bundle offline; exit status 1 on any failure')
    .argument('<bundle>', 'the export directory, or its bundle.json')
    .option('--trust <cert.pem>', 'the certificate to trust (pins it)')
    .option('--known-head <head.json>', 'a head seen before: the bundle must not roll back from it')
    .option('--save-head <file>', "when all is well, write the bundle's head here for next time")
    .action(
      async (
        bundlePath: string,
        opts: { trust?: string; knownHead?: string; saveHead?: string },
      ) => {
        let text: string;
        let source: string;
        try {
          ({ text, source } = await readBundleText(bundlePath));
        } catch (error) {
          report([{ check: 'format', where: bundlePath, message: readError(error) }], [], out);
          out('verification FAILED: 1 problem(s)');
          throw new VerificationFailedError(`cannot read ${bundlePath}`);
        }
        const trusted = opts.trust ? await readFile(opts.trust, 'utf8') : undefined;
        const knownHeadText = opts.knownHead ? await readFile(opts.knownHead, 'utf8') : undefined;
        const result = verifyBundle(text, {
          source,
          trustedCertificatePem: trusted,
          knownHeadText,
        });
        if (result.tenantId) {
          out(
            `bundle ${source}: tenant ${result.tenantId}, ${result.records} record(s)${result.treeHead ? `, signed tree head of size ${result.treeHead.treeSize} (signed ${result.treeHead.timestamp})` : ''}`,
          );
        }
        report(result.failures, result.notes, out);
        if (!result.ok) {
          out(`verification FAILED: ${result.failures.length} problem(s)`);
          throw new VerificationFailedError(
            `${result.failures.length} check(s) failed for ${source}`,
          );
        }
        if (opts.saveHead && result.treeHead) {
          await writeFile(opts.saveHead, `${JSON.stringify(result.treeHead, null, 2)}\n`);
          out(`saved the verified head to ${opts.saveHead}`);
        }
        out('verification OK');
      },
    );

  audit
    .command('verify-log')
    .description(
      'check the event log as it is now against every signed tree head; exit status 1 on any failure',
    )
    .option(
      '--trust <cert.pem>',
      'check signatures with this certificate, not the data directory’s',
    )
    .option('--known-head <head.json>', 'a head seen before: the stored heads must not roll back')
    .action((opts: { trust?: string; knownHead?: string }) =>
      withCliContext(config(), async (app) => {
        const knownHead = opts.knownHead ? await readHead(opts.knownHead) : undefined;
        const { store, log } = services(app);
        const certificate = opts.trust
          ? SigningCertificate.fromPem(await readFile(opts.trust, 'utf8'))
          : await deploymentCertificate(config());
        const result = await new LogVerifier(store, log, certificate).verify({ knownHead });
        // The audit log read model, row by row against the sealed access events it came from.
        const rows = await new AuditLogVerifier(
          store,
          app.get<Ledger>(LEDGER),
          app.get<SqlClient>(SQL_CLIENT),
        ).verify();
        const failures = [...result.failures, ...rows.failures];
        report(failures, [...result.notes, ...rows.notes], out);
        if (failures.length > 0) {
          out(`verification FAILED: ${failures.length} problem(s)`);
          throw new VerificationFailedError(
            `${failures.length} check(s) failed for the event log and the audit log`,
          );
        }
        out('verification OK');
      }),
    );

  audit
    .command('rebuild')
    .description(
      'replay every access event into the audit log, adding the rows it is missing (it is append-only: altered rows are reported by verify-log, not rewritten)',
    )
    .action(() =>
      withCliContext(config(), async (app) => {
        let applied = 0;
        let reported = 0;
        const projection = AuditLogProjection.create(
          app.get<SqlClient>(SQL_CLIENT),
          app.get<Ledger>(LEDGER),
          {
            metrics: {
              applied: (_name, count) => {
                applied += count;
                if (applied - reported >= PROGRESS_EVERY) {
                  reported = applied;
                  out(`replaying: ${applied} access event(s) read`);
                }
              },
              committed: () => undefined,
              lag: () => undefined,
            },
          },
        );
        out('replaying the audit log from the first access event…');
        const outcome = await projection.replay();
        out(
          `audit log replayed (generation ${outcome.generation}): ${outcome.eventsRead} access event(s) read, ${outcome.rowsAdded} missing row(s) added`,
        );
      }),
    );
}

/** `audit rebuild` prints a progress line each time this many more access events were read. */
const PROGRESS_EVERY = 1_000;

function services(app: INestApplicationContext) {
  const client = app.get<SqlClient>(SQL_CLIENT);
  return {
    store: app.get<EventStore>(EVENT_STORE),
    log: MerkleLogStore.create(client),
    clock: app.get<Clock>(CLOCK),
  };
}

/** The deployment's certificate, or undefined when none was ever generated. */
async function deploymentCertificate(
  config: LedgerlineConfig,
): Promise<SigningCertificate | undefined> {
  const file =
    config.slice(auditConfig).signingCertFile ??
    join(deploymentSigningDir(config), BUNDLE_FILES.certificate);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigningKeyError(`cannot read the signing certificate ${file}`, { cause: error });
  }
  return SigningCertificate.fromPem(pem);
}

async function readHead(file: string): Promise<SignedTreeHead> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(`${file} is not a readable JSON tree head (${readError(error)})`);
  }
  const parsed = signedTreeHeadSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`${file} is not a signed tree head`);
  return parsed.data;
}

function parseTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new ValidationError(`--${field} is not a time`, field);
  return at;
}

function readError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  return error instanceof Error ? error.message : 'unreadable';
}

function report(failures: readonly Finding[], notes: readonly string[], out: Out): void {
  for (const note of notes) out(`note: ${note}`);
  for (const f of failures) out(formatFinding(f));
}
