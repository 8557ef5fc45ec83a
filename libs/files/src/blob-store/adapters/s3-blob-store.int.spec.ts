import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { LocalS3Server } from '../../testing/local-s3-server';
import { blobStoreContract } from '../contract/blob-store.contract';
import { S3BlobStore } from './s3-blob-store.adapter';

let server: LocalS3Server;
let stores: S3BlobStore[] = [];

blobStoreContract(
  'S3 (AWS SDK against a local S3-compatible server)',
  async () => {
    server = await LocalS3Server.start();
    const store = new S3BlobStore({
      bucket: server.bucket,
      keyPrefix: 'tenants/',
      client: server.clientConfig(),
    });
    // "Down": the same client settings against a port nothing listens on.
    const down = new S3BlobStore({
      bucket: server.bucket,
      client: { ...server.clientConfig(), endpoint: 'http://127.0.0.1:9' },
    });
    stores = [store, down];
    const raw = new S3Client(server.clientConfig());
    return {
      store,
      down,
      rawKeys: async () => {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const page = await raw.send(
            new ListObjectsV2Command({ Bucket: server.bucket, ContinuationToken: token }),
          );
          keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return keys;
      },
    };
  },
  async () => {
    for (const store of stores) store.destroy();
    await server.stop();
  },
);
