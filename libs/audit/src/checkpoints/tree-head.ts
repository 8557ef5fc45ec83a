import { createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { SigningKeyError } from './checkpoint.errors';

/** Label of the signed text below; a new layout gets a new label. */
export const TREE_HEAD_FORMAT = 'ledgerline-sth-v1';

/** A tree head: the size of the log's Merkle tree, its root, and when it was signed. */
export interface TreeHead {
  readonly treeSize: number;
  /** Hex. */
  readonly rootHash: string;
  /** ISO 8601 with milliseconds, UTC. */
  readonly timestamp: string;
}

export interface SignedTreeHead extends TreeHead {
  /** RSA PKCS#1 v1.5 with SHA-256 over `treeHeadText(head)`, base64. */
  readonly signature: string;
}

/**
 * The exact bytes a tree head signature covers: `ledgerline-sth-v1\n<size>\n<root hex>\n<time>\n`
 * in UTF-8 (all ASCII), so that `sth.txt` holds them and openssl can check the signature.
 */
export function treeHeadText(head: TreeHead): string {
  return `${TREE_HEAD_FORMAT}\n${head.treeSize}\n${head.rootHash}\n${head.timestamp}\n`;
}

/**
 * The deployment's signing certificate: a self-signed X.509 certificate whose key signs tree heads
 * and export manifests. Auditors pin it by its SHA-256 fingerprint.
 */
export class SigningCertificate {
  private constructor(
    readonly pem: string,
    private readonly x509: X509Certificate,
    private readonly publicKey: KeyObject,
  ) {}

  static fromPem(pem: string): SigningCertificate {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(pem);
    } catch (error) {
      throw new SigningKeyError('the signing certificate is not a readable X.509 PEM certificate', {
        cause: error,
      });
    }
    const publicKey = x509.publicKey;
    if (publicKey.asymmetricKeyType !== 'rsa') {
      throw new SigningKeyError('the signing certificate must hold an RSA key');
    }
    return new SigningCertificate(pem.trim() + '\n', x509, publicKey);
  }

  /** SHA-256 of the certificate's DER encoding, lowercase hex. */
  get fingerprint(): string {
    return createHash('sha256').update(this.x509.raw).digest('hex');
  }

  get subject(): string {
    return this.x509.subject.replace(/\n/g, ', ');
  }

  get validFrom(): Date {
    return new Date(this.x509.validFrom);
  }

  get validTo(): Date {
    return new Date(this.x509.validTo);
  }

  /** RSA PKCS#1 v1.5 with SHA-256, as `openssl dgst -sha256 -verify` checks it. */
  verify(data: Uint8Array, signature: Uint8Array): boolean {
    try {
      return verify('sha256', data, this.publicKey, signature);
    } catch {
      return false;
    }
  }

  verifyTreeHead(head: SignedTreeHead): boolean {
    return this.verify(
      Buffer.from(treeHeadText(head), 'utf8'),
      Buffer.from(head.signature, 'base64'),
    );
  }

  /** True when `key` is this certificate's private key. */
  matches(key: KeyObject): boolean {
    return this.x509.checkPrivateKey(key);
  }
}
