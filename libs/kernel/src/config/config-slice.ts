import { z } from 'zod';

/** One bad variable, by name; values are never echoed (some are secrets). */
export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
}

/** What every slice may read besides its own variables. */
export interface CoreSettings {
  readonly env: 'development' | 'production' | 'test';
  /** The public HTTP port (0 in tests: slices choose free ports of their own then). */
  readonly httpPort: number;
  readonly dataDir: string;
}

/**
 * A lib's part of the configuration: the environment variables it reads (each key is the
 * variable's name, so a problem names exactly what to fix) and how they become its settings. The
 * lib defines it; an app loads the slices of the libs it composes in one pass, so one ConfigError
 * lists every bad variable (docs/adr/0027). Nothing reads process.env elsewhere.
 */
export interface ConfigSlice<T> {
  readonly name: string;
  readonly variables: z.ZodRawShape;
  read(values: Readonly<Record<string, unknown>>, core: CoreSettings, problems: ConfigProblem[]): T;
}

export function defineConfigSlice<const S extends z.ZodRawShape, T>(
  name: string,
  variables: S,
  read: (values: z.output<z.ZodObject<S>>, core: CoreSettings, problems: ConfigProblem[]) => T,
): ConfigSlice<T> {
  return {
    name,
    variables,
    read: (values, core, problems) => read(values as z.output<z.ZodObject<S>>, core, problems),
  };
}

/** Variable types shared by every slice. */
export const configVar = {
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  bool: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  url: (protocols: readonly string[]) =>
    z
      .string()
      .url()
      .refine((v) => protocols.some((p) => v.startsWith(`${p}:`)), {
        message: `must be a ${protocols.join(' or ')} URL`,
      }),
  /** `a, b,,c` → ['a', 'b', 'c']. */
  list: (raw: string | undefined): string[] =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
};
