import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '@ledgerline/kernel';
import { FileTypePolicy } from '../domain/file-type-policy';

const MEDIA_TYPE = z
  .string()
  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/);

const POLICY = z
  .object({
    version: z.literal(1),
    types: z
      .array(
        z
          .object({
            mediaType: MEDIA_TYPE,
            content: z.enum(['signature', 'text']).default('signature'),
            detectedAs: z.array(MEDIA_TYPE).min(1).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

/** Reads policies/files.yaml (or the configured file) into the policy; a bad file stops start-up. */
export async function loadFileTypePolicy(path: string): Promise<FileTypePolicy> {
  let parsed: z.infer<typeof POLICY>;
  try {
    parsed = POLICY.parse(parse(await readFile(path, 'utf8')));
  } catch (error) {
    const problem =
      error instanceof z.ZodError ? (error.issues[0]?.message ?? 'invalid') : 'unreadable';
    throw new ConfigError([
      { variable: 'LEDGERLINE_FILES_TYPES_FILE', problem: `${path}: ${problem}` },
    ]);
  }
  const seen = new Set<string>();
  for (const t of parsed.types) {
    if (seen.has(t.mediaType)) {
      throw new ConfigError([
        {
          variable: 'LEDGERLINE_FILES_TYPES_FILE',
          problem: `${path}: ${t.mediaType} listed twice`,
        },
      ]);
    }
    seen.add(t.mediaType);
  }
  return new FileTypePolicy(
    parsed.types.map((t) => ({
      mediaType: t.mediaType,
      content: t.content,
      detectedAs: t.detectedAs ?? [t.mediaType],
    })),
  );
}
