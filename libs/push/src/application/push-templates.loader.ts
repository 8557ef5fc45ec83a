import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '@ledgerline/kernel';
import { templatesProblems, type PushTemplates } from '../domain/push-templates';

/**
 * Reads and validates policies/push-templates.yaml once, at start-up. A template naming anything
 * but {count}, {kind} and {conversationId}, an unknown kind or a missing one stops start-up with
 * an error naming the file and the path in it.
 */
export function loadPushTemplates(file: string): PushTemplates {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      { variable: file, problem: error instanceof Error ? error.message : 'unreadable' },
    ]);
  }
  const doc = (parsed ?? {}) as Record<string, unknown>;
  const problems =
    doc['version'] === 1
      ? templatesProblems(doc['templates'])
      : [{ path: 'version', problem: 'must be 1 (the only version this build understands)' }];
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((p) => ({ variable: `${file}: ${p.path}`, problem: p.problem })),
    );
  }
  return doc['templates'] as PushTemplates;
}
