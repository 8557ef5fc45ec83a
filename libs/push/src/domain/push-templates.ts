import { PUSH_KINDS, type PushKind, type PushPayload, type RenderedAlert } from './push-payload';

/**
 * The only placeholders a push template may use: each names a field of PushPayload, none of which
 * can hold PHI. Anything else in braces makes the policy file invalid.
 */
export const TEMPLATE_FIELDS = ['count', 'kind', 'conversationId'] as const;
type TemplateField = (typeof TEMPLATE_FIELDS)[number];

const PLACEHOLDER = /\{([^{}]*)\}/g;
const MAX_TEMPLATE_CHARS = 120;

export interface PushTemplate {
  readonly title: string;
  /** `one` for a single event, `other` for a coalesced push ({count} of them). */
  readonly body: { readonly one: string; readonly other: string };
}

export type PushTemplates = { readonly [K in PushKind]: PushTemplate };

/** A problem in the templates, with its path in the file (`templates.message.body.one`). */
export interface TemplateProblem {
  readonly path: string;
  readonly problem: string;
}

/** Checks one template text: length, and that it names only TEMPLATE_FIELDS. */
export function templateTextProblems(path: string, text: unknown): TemplateProblem[] {
  if (typeof text !== 'string' || text.length === 0) return [{ path, problem: 'must be a text' }];
  const problems: TemplateProblem[] = [];
  if (text.length > MAX_TEMPLATE_CHARS) {
    problems.push({ path, problem: `longer than ${MAX_TEMPLATE_CHARS} characters` });
  }
  for (const [, name] of text.matchAll(PLACEHOLDER)) {
    if (!TEMPLATE_FIELDS.includes(name as TemplateField)) {
      problems.push({
        path,
        problem: `names {${name}}; a push may only name ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`,
      });
    }
  }
  if (/[{}]/.test(text.replace(PLACEHOLDER, ''))) {
    problems.push({ path, problem: 'has an unmatched brace' });
  }
  return problems;
}

/** Every problem of a parsed `templates` map (empty: it is valid). */
export function templatesProblems(templates: unknown): TemplateProblem[] {
  if (typeof templates !== 'object' || templates === null) {
    return [{ path: 'templates', problem: 'must be a map of push kinds' }];
  }
  const problems: TemplateProblem[] = [];
  const given = templates as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!PUSH_KINDS.includes(key as PushKind)) {
      problems.push({ path: `templates.${key}`, problem: 'is not a push kind' });
    }
  }
  for (const kind of PUSH_KINDS) {
    const t = given[kind] as Record<string, unknown> | undefined;
    const at = `templates.${kind}`;
    if (typeof t !== 'object' || t === null) {
      problems.push({ path: at, problem: 'is missing' });
      continue;
    }
    problems.push(...templateTextProblems(`${at}.title`, t['title']));
    const body = t['body'] as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null) {
      problems.push({ path: `${at}.body`, problem: 'must have `one` and `other`' });
      continue;
    }
    problems.push(...templateTextProblems(`${at}.body.one`, body['one']));
    problems.push(...templateTextProblems(`${at}.body.other`, body['other']));
  }
  return problems;
}

/** The alert for a payload: only the payload's own fields can appear in it. */
export function renderAlert(templates: PushTemplates, payload: PushPayload): RenderedAlert {
  const template = templates[payload.kind];
  const fill = (text: string) =>
    text.replace(PLACEHOLDER, (_, name: TemplateField) => String(payload[name]));
  return {
    title: fill(template.title),
    body: fill(payload.count === 1 ? template.body.one : template.body.other),
  };
}
