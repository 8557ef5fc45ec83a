import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { PolicyFileError } from '../identity.errors';
import { PERMISSION_NAME, type Permission } from './permissions';

/** policies/roles.yaml, validated: each tenant-level role and the permissions it grants. */
export interface RolePolicy {
  readonly version: 1;
  readonly roles: ReadonlyMap<string, ReadonlySet<Permission>>;
}

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * What a roles file may grant: the permissions of the composed libs (AccessCatalogue). Without
 * one (a lib's own tests, which run without the others), any well-formed name.
 */
export interface KnownPermissions {
  readonly permissions: ReadonlySet<string>;
}

const permissionList = (known: KnownPermissions | undefined) =>
  z
    .array(z.string(), {
      error: (issue) =>
        issue.input === undefined
          ? 'required: a list of permissions'
          : 'must be a list of permissions',
    })
    .superRefine((permissions, ctx) => {
      const seen = new Set<string>();
      permissions.forEach((p, i) => {
        if (known ? !known.permissions.has(p) : !PERMISSION_NAME.test(p)) {
          ctx.addIssue({ code: 'custom', path: [i], message: `unknown permission "${p}"` });
        } else if (seen.has(p)) {
          ctx.addIssue({ code: 'custom', path: [i], message: `permission "${p}" is listed twice` });
        }
        seen.add(p);
      });
    });

const fileSchema = (known: KnownPermissions | undefined) =>
  z.strictObject({
    version: z.literal(1, { error: 'must be 1 (the only version this build understands)' }),
    roles: z
      .record(
        z.string().regex(ROLE_NAME),
        z.strictObject({
          description: z.string().optional(),
          permissions: permissionList(known),
        }),
      )
      .refine((roles) => Object.keys(roles).length > 0, { error: 'at least one role is required' }),
  });

const ROLE_NAME_RULE =
  'role names are lower-case letters, digits, "_" and "-", starting with a letter';

/** Reads and validates a roles file; throws PolicyFileError naming the file and every bad path. */
export function loadRolePolicy(file: string, known?: KnownPermissions): RolePolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyFileError(file, [
      { path: '(file)', problem: `cannot be read (${(error as NodeJS.ErrnoException).code})` },
    ]);
  }
  return parseRolePolicy(text, file, known);
}

/** Validates the text of a roles file; `file` only names it in errors. */
export function parseRolePolicy(text: string, file: string, known?: KnownPermissions): RolePolicy {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default, spelled out because it is what refuses a role defined twice).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PolicyFileError(
      file,
      doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        const problem =
          e.code === 'DUPLICATE_KEY'
            ? 'a key is defined twice (each role may appear once)'
            : `not valid YAML (${e.code})`;
        return { path: `line ${at.line}, column ${at.col}`, problem };
      }),
    );
  }
  const parsed = fileSchema(known).safeParse(doc.toJS());
  if (!parsed.success) {
    throw new PolicyFileError(
      file,
      parsed.error.issues.map((issue) => ({
        path: describePath(doc, lineCounter, issue.path),
        // A record key failing its schema is reported by zod as a bare "Invalid key in record".
        problem: issue.code === 'invalid_key' ? ROLE_NAME_RULE : issue.message,
      })),
    );
  }
  const roles = new Map<string, ReadonlySet<Permission>>();
  for (const [name, role] of Object.entries(parsed.data.roles)) {
    roles.set(name, new Set(role.permissions as Permission[]));
  }
  return { version: 1, roles };
}

/**
 * `roles.user.permissions[3] (line 12)`: the zod path in the file's own terms, with the line of the
 * deepest part of it that exists (the key, for a map entry), so a missing key points at its parent.
 */
function describePath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): string {
  if (path.length === 0) return '(top level)';
  const dotted = path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === part);
      if (!pair) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? dotted : `${dotted} (line ${lineCounter.linePos(offset).line})`;
}
