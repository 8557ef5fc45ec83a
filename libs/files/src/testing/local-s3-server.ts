import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/**
 * A local S3-compatible server (s3rver) on a free loopback port, for the S3 BlobStore's tests:
 * the real AWS SDK talks real HTTP to it. Its credentials are s3rver's fixed test pair.
 */
export class LocalS3Server {
  private constructor(
    private readonly server: S3rver,
    private readonly directory: string,
    readonly endpoint: string,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'ledgerline-files'): Promise<LocalS3Server> {
    const directory = await mkdtemp(join(tmpdir(), 'ledgerline-s3-'));
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    const address: AddressInfo = await server.run();
    return new LocalS3Server(server, directory, `http://127.0.0.1:${address.port}`, bucket);
  }

  /** What the S3 client needs to reach it. */
  clientConfig() {
    return {
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    };
  }

  /** Where s3rver keeps its objects on disk (tests search it for plaintext). */
  get dataDirectory(): string {
    return this.directory;
  }

  async stop(): Promise<void> {
    await this.server.close();
    await rm(this.directory, { recursive: true, force: true });
  }
}
