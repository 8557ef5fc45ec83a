import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '@ledgerline/kernel';

export interface MasterSecretSettings {
  readonly masterKey?: string;
  readonly masterKeyFile?: string;
  readonly keyringFile: string;
}

export interface MasterSecret {
  readonly secret: string;
  /** Where it came from, for a start-up log line (never the value). */
  readonly source: 'LEDGERLINE_MASTER_KEY' | 'LEDGERLINE_MASTER_KEY_FILE' | 'generated file';
  readonly file?: string;
  /** True when this call generated the secret file (first start of the embedded default). */
  readonly generated: boolean;
}

/** Where the embedded default keeps a generated master secret: next to the ring. */
export function defaultMasterKeyFile(keyringFile: string): string {
  return join(dirname(keyringFile), 'master.key');
}

/**
 * The local key ring's master secret: LEDGERLINE_MASTER_KEY, else the file
 * LEDGERLINE_MASTER_KEY_FILE, else (the embedded default) `master.key` next to the ring, generated
 * on first start as 32 random bytes in base64 with mode 0600. A ring that exists without any
 * configured or generated secret is a configuration error, never a reason to make a new secret.
 */
export async function resolveMasterSecret(settings: MasterSecretSettings): Promise<MasterSecret> {
  if (settings.masterKey) {
    return { secret: settings.masterKey, source: 'LEDGERLINE_MASTER_KEY', generated: false };
  }
  if (settings.masterKeyFile) {
    const secret = await readSecretFile(settings.masterKeyFile, 'LEDGERLINE_MASTER_KEY_FILE');
    if (secret === undefined) {
      throw new ConfigError([
        {
          variable: 'LEDGERLINE_MASTER_KEY_FILE',
          problem: `${settings.masterKeyFile} does not exist`,
        },
      ]);
    }
    return {
      secret,
      source: 'LEDGERLINE_MASTER_KEY_FILE',
      file: settings.masterKeyFile,
      generated: false,
    };
  }
  const file = defaultMasterKeyFile(settings.keyringFile);
  const existing = await readSecretFile(file, 'LEDGERLINE_MASTER_KEY_FILE');
  if (existing !== undefined) {
    return { secret: existing, source: 'generated file', file, generated: false };
  }
  if (await exists(settings.keyringFile)) {
    throw new ConfigError([
      {
        variable: 'LEDGERLINE_MASTER_KEY',
        problem: `the key ring ${settings.keyringFile} exists but no master secret is configured (set LEDGERLINE_MASTER_KEY or LEDGERLINE_MASTER_KEY_FILE, or restore ${file})`,
      },
    ]);
  }
  const secret = randomBytes(32).toString('base64');
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${secret}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') {
      // Another process generated it first: use theirs.
      const theirs = await readSecretFile(file, 'LEDGERLINE_MASTER_KEY_FILE');
      if (theirs !== undefined)
        return { secret: theirs, source: 'generated file', file, generated: false };
    }
    throw new ConfigError([
      { variable: 'LEDGERLINE_DATA_DIR', problem: `cannot write a master secret to ${file}` },
    ]);
  }
  return { secret, source: 'generated file', file, generated: true };
}

async function readSecretFile(file: string, variable: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new ConfigError([{ variable, problem: `${file} cannot be read` }]);
  }
  const secret = text.trim();
  if (secret.length === 0) throw new ConfigError([{ variable, problem: `${file} is empty` }]);
  return secret;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
