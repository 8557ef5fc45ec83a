import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A local stand-in for AWS KMS, for integration tests of the real `@aws-sdk/client-kms` client:
 * point the SDK at `url` with `region` and the static dummy `credentials`.
 *
 * What it does, as KMS does:
 * - speaks the AWS JSON 1.1 protocol: `POST /`, `X-Amz-Target: TrentService.<Operation>`,
 *   `Content-Type: application/x-amz-json-1.1`, blobs in base64, errors as HTTP 400 (500 for
 *   internal ones) with `{"__type": "NotFoundException", "message": "..."}`;
 * - GenerateDataKey (KeySpec AES_256/AES_128 or NumberOfBytes), Decrypt, ReEncrypt, DescribeKey;
 * - real AES-256-GCM under in-memory symmetric keys, the EncryptionContext bound as associated
 *   data (a different context fails with InvalidCiphertextException, as in KMS);
 * - key ids, key ARNs, alias names and alias ARNs wherever KMS accepts a KeyId; a ciphertext
 *   names its key, so Decrypt works without a KeyId and fails with IncorrectKeyException when the
 *   KeyId given is another key;
 * - disabled keys (DisabledException) and keys pending deletion (KMSInvalidStateException);
 *   DescribeKey still answers for both;
 * - rotation of key material (old ciphertexts still decrypt, the ARN stays) and re-pointing an
 *   alias at another key;
 * - fault injection: throttle the next N calls (ThrottlingException), fail the next N with any
 *   error type and status, or be down (reset every connection, or accept and never answer).
 *
 * What it does not do: verify SigV4 signatures or credentials (it only requires an AWS4-HMAC-SHA256
 * Authorization header), key policies, IAM, grants or grant tokens, multi-region keys, custom key
 * stores (CloudHSM, external), asymmetric and HMAC keys, imported key material, Encrypt and the
 * other operations, DryRun, request quotas (only the throttling you inject), CloudTrail logging,
 * the real ciphertext format (its blobs are its own layout, shorter than KMS's), durability
 * (keys vanish when it stops), and the exact text of KMS's error messages.
 */
export class KmsLocalEndpoint {
  readonly region: string;
  readonly accountId: string;
  /** Dummy static credentials: the endpoint checks only that requests are signed at all. */
  readonly credentials = { accessKeyId: 'AKIDLOCALKMSENDPOINT', secretAccessKey: 'local-only' };
  /** Every request received, in order: operation, outcome, and encryption context (ids only). */
  readonly requests: LocalKmsRequest[] = [];

  private readonly keys = new Map<string, LocalKey>();
  private readonly aliases = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private faults: Fault[] = [];
  private down: false | 'reset' | 'hang' = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: LocalKmsOptions,
  ) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
  }

  static async start(options: LocalKmsOptions = {}): Promise<KmsLocalEndpoint> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const endpoint = new KmsLocalEndpoint(server, `http://127.0.0.1:${port}`, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => endpoint.handle(req, res));
    server.on('connection', (socket: Socket) => {
      endpoint.sockets.add(socket);
      socket.on('close', () => endpoint.sockets.delete(socket));
    });
    return endpoint;
  }

  /** Creates an enabled symmetric key; with `alias` (e.g. `alias/tenant-a`), points it there. */
  createKey(options: { alias?: string; description?: string } = {}): LocalKmsKey {
    const keyId = randomUUID();
    const arn = `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
    this.keys.set(keyId, {
      keyId,
      arn,
      description: options.description ?? '',
      createdAt: new Date(),
      state: 'Enabled',
      materials: [randomBytes(32)],
    });
    if (options.alias) this.setAlias(options.alias, keyId);
    return { keyId, arn };
  }

  /** Creates the alias or re-points it (CreateAlias / UpdateAlias). */
  setAlias(alias: string, keyId: string): void {
    if (!alias.startsWith('alias/')) throw new Error('alias names start with alias/');
    if (!this.keys.has(keyId)) throw new Error(`no key ${keyId}`);
    this.aliases.set(alias, keyId);
  }

  disableKey(keyId: string): void {
    this.key(keyId).state = 'Disabled';
  }

  enableKey(keyId: string): void {
    this.key(keyId).state = 'Enabled';
  }

  scheduleKeyDeletion(keyId: string): void {
    this.key(keyId).state = 'PendingDeletion';
  }

  /** New key material for the key (RotateKeyOnDemand); older ciphertexts keep decrypting. */
  rotateKeyMaterial(keyId: string): void {
    this.key(keyId).materials.push(randomBytes(32));
  }

  /** The next `count` requests fail with ThrottlingException (HTTP 400). */
  throttleNext(count: number): void {
    this.failNext(count, 'ThrottlingException', 400, 'Rate exceeded');
  }

  /** The next `count` requests fail with this error type and status. */
  failNext(
    count: number,
    type: string,
    status = type.startsWith('KMSInternal') ? 500 : 400,
    message = type,
  ): void {
    for (let i = 0; i < count; i++) this.faults.push({ type, status, message });
  }

  /** `reset`: every connection is closed without an answer; `hang`: accepted, never answered. */
  setDown(mode: false | 'reset' | 'hang'): void {
    this.down = mode;
  }

  countOf(operation: string): number {
    return this.requests.filter((r) => r.operation === operation).length;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const key of this.keys.values()) for (const m of key.materials) m.fill(0);
  }

  private key(keyId: string): LocalKey {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`no key ${keyId}`);
    return key;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('TrentService.') ? target.slice(13) : target;
      const record: LocalKmsRequest = { operation, outcome: 'ok' };
      this.requests.push(record);
      if (this.down === 'reset') {
        record.outcome = 'reset';
        req.socket.destroy();
        return;
      }
      if (this.down === 'hang') {
        record.outcome = 'hang';
        return;
      }
      const fault = this.faults.shift();
      if (fault) {
        record.outcome = fault.type;
        this.reply(res, fault.status, { __type: fault.type, message: fault.message });
        return;
      }
      try {
        this.checkEnvelope(req, target);
        const input = parseBody(Buffer.concat(chunks));
        const output = this.dispatch(operation, input, record);
        this.reply(res, 200, output);
      } catch (error) {
        const e =
          error instanceof KmsError
            ? error
            : new KmsError('KMSInternalException', 'internal error', 500);
        record.outcome = e.type;
        this.reply(res, e.status, { __type: e.type, message: e.message });
      }
    });
  }

  private checkEnvelope(req: IncomingMessage, target: string): void {
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
      throw new KmsError('UnknownOperationException', 'only POST / is served');
    }
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-amz-json-1.1')) {
      throw new KmsError('SerializationException', 'expected application/x-amz-json-1.1');
    }
    if (!target.startsWith('TrentService.')) {
      throw new KmsError('UnknownOperationException', 'missing or foreign X-Amz-Target');
    }
    const auth = String(req.headers['authorization'] ?? '');
    if (!auth.startsWith('AWS4-HMAC-SHA256 Credential=')) {
      throw new KmsError('MissingAuthenticationTokenException', 'request is not signed');
    }
  }

  private dispatch(operation: string, input: Record<string, unknown>, record: LocalKmsRequest) {
    switch (operation) {
      case 'GenerateDataKey':
        return this.generateDataKey(input, record);
      case 'Decrypt':
        return this.decrypt(input, record);
      case 'ReEncrypt':
        return this.reEncrypt(input, record);
      case 'DescribeKey':
        return this.describeKey(input);
      default:
        throw new KmsError(
          'UnknownOperationException',
          `operation ${operation} is not served here`,
        );
    }
  }

  private generateDataKey(input: Record<string, unknown>, record: LocalKmsRequest) {
    const key = this.usableKey(requiredString(input, 'KeyId'));
    const context = encryptionContext(input['EncryptionContext']);
    record.encryptionContext = context;
    const spec = input['KeySpec'];
    const count = input['NumberOfBytes'];
    if ((spec === undefined) === (count === undefined)) {
      throw new KmsError('ValidationException', 'specify exactly one of KeySpec and NumberOfBytes');
    }
    let bytes: number;
    if (spec !== undefined) {
      if (spec !== 'AES_256' && spec !== 'AES_128') {
        throw new KmsError('ValidationException', 'KeySpec must be AES_256 or AES_128');
      }
      bytes = spec === 'AES_256' ? 32 : 16;
    } else {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1024) {
        throw new KmsError('ValidationException', 'NumberOfBytes must be 1 to 1024');
      }
      bytes = count;
    }
    const plaintext = randomBytes(bytes);
    const blob = encrypt(key, plaintext, context);
    const output = {
      KeyId: key.arn,
      Plaintext: plaintext.toString('base64'),
      CiphertextBlob: blob.toString('base64'),
      KeyMaterialId: materialId(key, key.materials.length - 1),
    };
    plaintext.fill(0);
    return output;
  }

  private decrypt(input: Record<string, unknown>, record: LocalKmsRequest) {
    const context = encryptionContext(input['EncryptionContext']);
    record.encryptionContext = context;
    const keyId = optionalString(input, 'KeyId');
    const { key, plaintext } = this.open(requiredBlob(input, 'CiphertextBlob'), context, keyId);
    const output = {
      KeyId: key.arn,
      Plaintext: plaintext.toString('base64'),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
    plaintext.fill(0);
    return output;
  }

  private reEncrypt(input: Record<string, unknown>, record: LocalKmsRequest) {
    const source = encryptionContext(input['SourceEncryptionContext']);
    const destination = encryptionContext(input['DestinationEncryptionContext']);
    record.encryptionContext = source;
    const destinationKey = this.usableKey(requiredString(input, 'DestinationKeyId'));
    const { key, plaintext } = this.open(
      requiredBlob(input, 'CiphertextBlob'),
      source,
      optionalString(input, 'SourceKeyId'),
    );
    const blob = encrypt(destinationKey, plaintext, destination);
    plaintext.fill(0);
    return {
      CiphertextBlob: blob.toString('base64'),
      SourceKeyId: key.arn,
      KeyId: destinationKey.arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
  }

  private describeKey(input: Record<string, unknown>) {
    const key = this.resolve(requiredString(input, 'KeyId'));
    return {
      KeyMetadata: {
        AWSAccountId: this.accountId,
        KeyId: key.keyId,
        Arn: key.arn,
        CreationDate: key.createdAt.getTime() / 1000,
        Enabled: key.state === 'Enabled',
        Description: key.description,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyState: key.state,
        Origin: 'AWS_KMS',
        KeyManager: 'CUSTOMER',
        CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        MultiRegion: false,
        CurrentKeyMaterialId: materialId(key, key.materials.length - 1),
      },
    };
  }

  /** Decrypts a blob: its key must exist and be usable, and match `keyId` when one is given. */
  private open(
    blob: Buffer,
    context: Record<string, string>,
    keyId: string | undefined,
  ): { key: LocalKey; plaintext: Buffer } {
    const parsed = parseBlob(blob);
    const claimed = keyId === undefined ? undefined : this.resolve(keyId);
    const key = parsed ? this.keys.get(parsed.keyId) : undefined;
    if (!parsed || !key) throw invalidCiphertext();
    if (claimed && claimed.keyId !== key.keyId) {
      throw new KmsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify a KMS key that can perform this operation.',
      );
    }
    checkUsable(key);
    const material = key.materials[parsed.material];
    if (!material) throw invalidCiphertext();
    try {
      const decipher = createDecipheriv('aes-256-gcm', material, parsed.nonce);
      decipher.setAAD(aad(parsed.header, context));
      decipher.setAuthTag(parsed.tag);
      const plaintext = Buffer.concat([decipher.update(parsed.body), decipher.final()]);
      return { key, plaintext };
    } catch {
      throw invalidCiphertext();
    }
  }

  private resolve(keyId: string): LocalKey {
    const prefix = `arn:aws:kms:${this.region}:${this.accountId}:`;
    let id = keyId.startsWith(prefix) ? keyId.slice(prefix.length) : keyId;
    if (id.startsWith('alias/')) {
      const target = this.aliases.get(id);
      if (!target) throw new KmsError('NotFoundException', `Alias ${prefix}${id} is not found.`);
      id = target;
    } else if (id.startsWith('key/')) {
      id = id.slice(4);
    }
    const key = this.keys.get(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${prefix}key/${id}' does not exist`);
    return key;
  }

  private usableKey(keyId: string): LocalKey {
    const key = this.resolve(keyId);
    checkUsable(key);
    return key;
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  }
}

export interface LocalKmsOptions {
  readonly region?: string;
  readonly accountId?: string;
}

export interface LocalKmsKey {
  readonly keyId: string;
  readonly arn: string;
}

export interface LocalKmsRequest {
  readonly operation: string;
  outcome: string;
  encryptionContext?: Record<string, string>;
}

interface LocalKey {
  readonly keyId: string;
  readonly arn: string;
  readonly description: string;
  readonly createdAt: Date;
  state: 'Enabled' | 'Disabled' | 'PendingDeletion';
  readonly materials: Buffer[];
}

interface Fault {
  readonly type: string;
  readonly status: number;
  readonly message: string;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function invalidCiphertext(): KmsError {
  return new KmsError('InvalidCiphertextException', '');
}

function checkUsable(key: LocalKey): void {
  if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') {
    throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }
}

function materialId(key: LocalKey, index: number): string {
  return `${key.keyId.replace(/-/g, '')}${index.toString(16).padStart(4, '0')}`;
}

// Blob layout: 0x01 ‖ key uuid (16) ‖ material index (2) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
const BLOB_HEADER = 1 + 16 + 2;

function encrypt(key: LocalKey, plaintext: Buffer, context: Record<string, string>): Buffer {
  const index = key.materials.length - 1;
  const header = Buffer.alloc(BLOB_HEADER);
  header[0] = 1;
  Buffer.from(key.keyId.replace(/-/g, ''), 'hex').copy(header, 1);
  header.writeUInt16BE(index, 17);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.materials[index]!, nonce);
  cipher.setAAD(aad(header, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

function parseBlob(blob: Buffer) {
  if (blob.length < BLOB_HEADER + 12 + 16 + 1 || blob[0] !== 1) return undefined;
  const hex = blob.subarray(1, 17).toString('hex');
  const keyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return {
    header: blob.subarray(0, BLOB_HEADER),
    keyId,
    material: blob.readUInt16BE(17),
    nonce: blob.subarray(BLOB_HEADER, BLOB_HEADER + 12),
    body: blob.subarray(BLOB_HEADER + 12, blob.length - 16),
    tag: blob.subarray(blob.length - 16),
  };
}

// KMS binds the encryption context as a set of pairs: order does not matter, every pair does.
function aad(header: Buffer, context: Record<string, string>): Buffer {
  const pairs = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.concat([header, Buffer.from(JSON.stringify(pairs), 'utf8')]);
}

function parseBody(body: Buffer): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(body.length ? body.toString('utf8') : '{}');
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      return json as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new KmsError('SerializationException', 'request body is not a JSON object');
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new KmsError('ValidationException', `${field} is required`);
  }
  return value;
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  return input[field] === undefined ? undefined : requiredString(input, field);
}

function requiredBlob(input: Record<string, unknown>, field: string): Buffer {
  const blob = Buffer.from(requiredString(input, field), 'base64');
  if (blob.length === 0 || blob.length > 6144) {
    throw new KmsError('ValidationException', `${field} must be 1 to 6144 bytes`);
  }
  return blob;
}

function encryptionContext(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new KmsError('ValidationException', 'EncryptionContext must be a string map');
  }
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new KmsError('ValidationException', 'EncryptionContext values must be strings');
    }
    context[k] = v;
  }
  return context;
}
