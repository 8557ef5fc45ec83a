import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreContract } from '../contract/blob-store.contract';
import { LocalDirectoryBlobStore } from './local-directory-blob-store.adapter';

let root: string;

blobStoreContract(
  'local directory',
  async () => {
    root = await mkdtemp(join(tmpdir(), 'ledgerline-blobs-'));
    // "Down" for a directory: its root is a file, so nothing under it can be made or read.
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'not a directory');
    await chmod(blocked, 0o400);
    return {
      store: new LocalDirectoryBlobStore(join(root, 'store')),
      down: new LocalDirectoryBlobStore(join(blocked, 'store')),
      rawKeys: async () =>
        (await readdir(join(root, 'store'), { recursive: true, withFileTypes: true }))
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name)),
    };
  },
  async () => {
    await rm(root, { recursive: true, force: true });
  },
);
