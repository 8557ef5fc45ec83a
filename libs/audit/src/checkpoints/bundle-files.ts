import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditBundle } from './audit-bundle';
import { treeHeadText, type SignedTreeHead } from './tree-head';

/** The files `ledgerline audit export --out DIR` writes. */
export const BUNDLE_FILES = {
  bundle: 'bundle.json',
  /** The latest tree head's signed text, and its signature (raw bytes): for openssl. */
  treeHeadText: 'sth.txt',
  treeHeadSignature: 'sth.sig',
  certificate: 'cert.pem',
  /** The latest head as JSON: keep it, and pass it as --known-head to the next verify. */
  head: 'head.json',
  manifestText: 'manifest.txt',
  manifestSignature: 'manifest.sig',
  instructions: 'VERIFY.txt',
} as const;

/** The openssl commands that check the tree head signature with nothing but the exported files. */
export const OPENSSL_VERIFY_COMMANDS = [
  'openssl x509 -in cert.pem -pubkey -noout > pubkey.pem',
  'openssl dgst -sha256 -verify pubkey.pem -signature sth.sig sth.txt',
  'openssl dgst -sha256 -verify pubkey.pem -signature manifest.sig manifest.txt',
] as const;

const INSTRUCTIONS = `Ledgerline audit bundle

Check everything (records, inclusion and consistency proofs, signatures, manifest), offline:
  ledgerline audit verify . --trust <the certificate you were given> [--known-head <head.json kept from a previous export>]

Check the signed tree head and the export manifest with openssl alone (each prints "Verified OK"):
  ${OPENSSL_VERIFY_COMMANDS.join('\n  ')}

sth.txt is the signed text of the latest tree head: "ledgerline-sth-v1", tree size, root (hex),
signing time, one per line. The signature is RSA PKCS#1 v1.5 with SHA-256.
`;

/** Writes the bundle and its openssl-checkable parts into `dir` (created if needed). */
export async function writeBundleDirectory(dir: string, bundle: AuditBundle): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const head: SignedTreeHead = bundle.treeHead;
  const files: [string, string | Buffer][] = [
    [BUNDLE_FILES.bundle, `${JSON.stringify(bundle, null, 2)}\n`],
    [BUNDLE_FILES.treeHeadText, treeHeadText(head)],
    [BUNDLE_FILES.treeHeadSignature, Buffer.from(head.signature, 'base64')],
    [BUNDLE_FILES.certificate, bundle.certificate],
    [BUNDLE_FILES.head, `${JSON.stringify(head, null, 2)}\n`],
    [BUNDLE_FILES.manifestText, bundle.manifest.text],
    [BUNDLE_FILES.manifestSignature, Buffer.from(bundle.manifest.signature, 'base64')],
    [BUNDLE_FILES.instructions, INSTRUCTIONS],
  ];
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return files.map(([name]) => join(dir, name));
}

/** Reads `bundle.json`, given the file or the directory holding it. */
export async function readBundleText(path: string): Promise<{ text: string; source: string }> {
  const source = (await stat(path)).isDirectory() ? join(path, BUNDLE_FILES.bundle) : path;
  return { text: await readFile(source, 'utf8'), source };
}
