import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import forge from 'node-forge';
import { systemClock, type Clock } from '@ledgerline/kernel';
import { SigningKeyError } from './checkpoint.errors';
import { SigningCertificate, treeHeadText, type SignedTreeHead, type TreeHead } from './tree-head';

export interface TreeHeadSignerOptions {
  /**
   * Where a generated key and certificate live (`<data dir>/audit-signing`): `key.pem` (mode 0600)
   * and `cert.pem`. Ignored when both files below are given.
   */
  readonly dir: string;
  /** A provided certificate (PEM); give the private key with it. */
  readonly certificateFile?: string;
  /** A provided RSA private key (PEM, PKCS#1 or PKCS#8, unencrypted); give the certificate with it. */
  readonly privateKeyFile?: string;
  /** Generate a key and certificate in `dir` when there are none. Default true. */
  readonly createIfMissing?: boolean;
  readonly clock?: Clock;
  /** Subject common name of a generated certificate. */
  readonly commonName?: string;
}

const KEY_FILE = 'key.pem';
const CERT_FILE = 'cert.pem';
const RSA_BITS = 3072;
const VALIDITY_YEARS = 10;

/**
 * Signs tree heads (and export manifests) with the deployment's key: RSA 3072, PKCS#1 v1.5 with
 * SHA-256, which `openssl dgst -sha256 -verify` checks with the key from the certificate.
 */
export class TreeHeadSigner {
  private constructor(
    private readonly key: KeyObject,
    readonly certificate: SigningCertificate,
  ) {}

  /** Loads the provided key pair, or the generated one (creating it on first start). */
  static async open(options: TreeHeadSignerOptions): Promise<TreeHeadSigner> {
    if (!options.certificateFile !== !options.privateKeyFile) {
      throw new SigningKeyError(
        'give both the signing certificate and its private key file, or neither',
      );
    }
    if (options.certificateFile && options.privateKeyFile) {
      return TreeHeadSigner.load(options.certificateFile, options.privateKeyFile);
    }
    const certificateFile = join(options.dir, CERT_FILE);
    const privateKeyFile = join(options.dir, KEY_FILE);
    try {
      return await TreeHeadSigner.load(certificateFile, privateKeyFile);
    } catch (error) {
      if (!(error instanceof SigningKeyError && error.missing) || options.createIfMissing === false)
        throw error;
    }
    await TreeHeadSigner.generate(options);
    return TreeHeadSigner.load(certificateFile, privateKeyFile);
  }

  /** For tests and tools: a signer over key material already in memory. */
  static fromPem(certificatePem: string, privateKeyPem: string): TreeHeadSigner {
    let key: KeyObject;
    try {
      key = createPrivateKey(privateKeyPem);
    } catch (error) {
      throw new SigningKeyError('the signing key is not a readable unencrypted PEM private key', {
        cause: error,
      });
    }
    const certificate = SigningCertificate.fromPem(certificatePem);
    if (!certificate.matches(key)) {
      throw new SigningKeyError('the signing key does not belong to the signing certificate');
    }
    return new TreeHeadSigner(key, certificate);
  }

  /** A new key pair and self-signed certificate, in PEM. */
  static createKeyMaterial(options: { clock?: Clock; commonName?: string } = {}): {
    certificatePem: string;
    privateKeyPem: string;
  } {
    const now = (options.clock ?? systemClock).now();
    // node-forge hands RSA key generation to Node's native crypto when it is there.
    const keys = forge.pki.rsa.generateKeyPair({ bits: RSA_BITS, e: 0x10001 });
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    // A positive serial: a leading byte below 0x80.
    cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
    cert.validity.notBefore = new Date(now.getTime() - 60_000);
    cert.validity.notAfter = new Date(now.getTime());
    cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + VALIDITY_YEARS);
    const name = [
      { name: 'commonName', value: options.commonName ?? 'Ledgerline audit checkpoint signer' },
      { name: 'organizationName', value: 'Ledgerline' },
    ];
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    return {
      certificatePem: forge.pki.certificateToPem(cert),
      privateKeyPem: forge.pki.privateKeyToPem(keys.privateKey),
    };
  }

  sign(data: Uint8Array): Buffer {
    return sign('sha256', data, this.key);
  }

  signTreeHead(head: TreeHead): SignedTreeHead {
    const signature = this.sign(Buffer.from(treeHeadText(head), 'utf8')).toString('base64');
    return { ...head, signature };
  }

  private static async load(certificateFile: string, privateKeyFile: string) {
    const [certificatePem, privateKeyPem] = await Promise.all([
      readPem(certificateFile, 'certificate'),
      readPem(privateKeyFile, 'private key'),
    ]);
    return TreeHeadSigner.fromPem(certificatePem, privateKeyPem);
  }

  /**
   * Writes a new pair into a fresh directory beside `dir` and renames it into place, so two
   * processes starting at once end up sharing one key (the loser's rename fails; it loads).
   */
  private static async generate(options: TreeHeadSignerOptions): Promise<void> {
    const { certificatePem, privateKeyPem } = TreeHeadSigner.createKeyMaterial(options);
    await mkdir(dirname(options.dir), { recursive: true });
    const staging = `${options.dir}.${randomBytes(6).toString('hex')}.tmp`;
    await mkdir(staging, { mode: 0o700 });
    try {
      await writeFile(join(staging, KEY_FILE), privateKeyPem, { mode: 0o600 });
      await chmod(join(staging, KEY_FILE), 0o600);
      await writeFile(join(staging, CERT_FILE), certificatePem, { mode: 0o644 });
      await rename(staging, options.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM') throw error;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SigningKeyError(
      `cannot read the signing ${what} ${file}${missing ? ' (missing)' : ''}`,
      { cause: error },
      missing,
    );
  }
}
