import type { Command } from 'commander';
import {
  InvalidAsOfError,
  type ConversationReplaySource,
  type ReplayRequester,
  type ReplayedContent,
  type ReplayedConversation,
  type ReplayedMessage,
  type ReplayedUserView,
} from '@ledgerline/audit';
import { PointInTimeReplay, SqlReplayHints } from '@ledgerline/conversations';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { ACCESS_RECORDER, type AccessRecorder } from '@ledgerline/identity';
import {
  encodePosition,
  formatAsOf,
  parseAsOf,
  ValidationError,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { operatorActor, withCliContext } from './cli-context';

type Out = (line: string) => void;

interface ReplayOptions {
  tenant: string;
  asOf: string;
  conversation?: string;
  user?: string;
  json?: boolean;
}

/**
 * `ledgerline replay`: what a conversation held, or what a user could see, at a past moment,
 * rebuilt from the sealed events. The replay is an access event (`audit.replayed`, origin `cli`),
 * recorded before anything is printed; content whose keys were shredded prints as unavailable.
 */
export function registerReplayCommands(
  program: Command,
  config: () => LedgerlineConfig,
  out: Out,
): void {
  program
    .command('replay')
    .description(
      'rebuild what a conversation held, or what a user could see, at a past moment (recorded as an access event)',
    )
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption(
      '--as-of <time|position>',
      'an ISO 8601 time with its zone (2026-11-25T10:00:00Z), a date, or a position token (<commit>.<prepare>)',
    )
    .option(
      '--conversation <id>',
      'what this conversation held then (redacted and edited text included)',
    )
    .option('--user <id>', 'what this user could see then, in every conversation they were in')
    .option('--json', 'print JSON for machines')
    .action((opts: ReplayOptions) => {
      if (!opts.conversation === !opts.user) {
        throw new ValidationError('give exactly one of --conversation or --user', 'conversation');
      }
      const asOf = parseAsOf(opts.asOf);
      if (!asOf) throw new InvalidAsOfError('--as-of');
      return withCliContext(config(), async (app) => {
        // The conversations' replay, as libs/audit's port sees it (no permission check: the
        // operator holds the database and the keys; the access record is still written).
        const replay: ConversationReplaySource = new PointInTimeReplay(
          app.get<AccessRecorder>(ACCESS_RECORDER),
          app.get<Ledger>(LEDGER),
          app.get<EventStore>(EVENT_STORE),
          SqlReplayHints.over(app.get<SqlClient>(SQL_CLIENT)),
        );
        const operator: ReplayRequester = {
          tenantId: opts.tenant,
          actor: { id: operatorActor().id, kind: 'operator', roles: [] },
          origin: { transport: 'cli' },
        };
        if (opts.conversation !== undefined) {
          const replayed = await replay.replayConversation(operator, opts.conversation, asOf);
          if (opts.json) out(toJson({ view: 'conversation', ...replayed }));
          else printConversation(replayed, 'auditor', out);
        } else {
          const view = await replay.replayUserView(operator, opts.user!, asOf);
          if (opts.json) out(toJson({ view: 'user', ...view }));
          else printUserView(view, out);
        }
      });
    });
}

// ---- human-readable output ----------------------------------------------------------------------

function printUserView(view: ReplayedUserView, out: Out): void {
  out(
    `What user ${view.userId} could see in tenant ${view.tenantId} as of ${formatAsOf(view.asOf)}: ${view.conversations.length} conversation(s)`,
  );
  for (const conversation of view.conversations) {
    out('');
    printConversation(conversation, 'member', out);
  }
  if (view.undetermined.length > 0) {
    out('');
    out(`Undetermined (their membership events were shredded): ${view.undetermined.join(', ')}`);
  }
}

function printConversation(c: ReplayedConversation, view: 'auditor' | 'member', out: Out): void {
  const moment = formatAsOf(c.asOf);
  if (!c.existed) {
    out(
      `Conversation ${c.conversationId} in tenant ${c.tenantId} did not exist yet as of ${moment}`,
    );
    return;
  }
  out(
    `== Conversation ${c.conversationId} (${c.kind ?? 'unknown kind'}) in tenant ${c.tenantId}, as of ${moment}`,
  );
  if (c.title) out(`Title: ${content(c.title)}`);
  out(
    `Created ${iso(c.createdAt)} by ${c.createdById ?? 'unknown'}; ${c.archived ? 'archived' : 'not archived'}`,
  );
  const current = c.members.filter((m) => m.isMember);
  const former = c.members.filter((m) => !m.isMember);
  out(`Members then (${current.length}):`);
  for (const m of current) {
    const since = m.memberships[m.memberships.length - 1]!;
    out(
      `  ${m.id} (${m.kind}, ${m.role}) joined ${iso(since.joinedAt)}, added by ${since.addedById}`,
    );
  }
  if (view === 'auditor' && former.length > 0) {
    out(`Former members (${former.length}):`);
    for (const m of former) {
      const spans = m.memberships.map(
        (p) =>
          `joined ${iso(p.joinedAt)}, ${p.leftHow === 'removed' ? `removed by ${p.removedById ?? 'unknown'}` : 'left'} ${iso(p.leftAt)}`,
      );
      out(`  ${m.id} (${m.kind}, was ${m.role}) ${spans.join('; ')}`);
    }
  }
  out(`Messages (${c.messages.length}):`);
  for (const m of c.messages) printMessage(m, out);
  if (c.gaps.length > 0) {
    out(`Incomplete: ${c.gaps.length} event(s) could not be used:`);
    for (const g of c.gaps) {
      out(
        `  revision ${g.revision.toString()} ${g.type} at ${iso(g.recordedAt)} by ${g.actorId ?? 'unknown'}: ${g.reason === 'key_shredded' ? 'key shredded' : 'its message is unknown (shredded)'}`,
      );
    }
  }
}

function printMessage(m: ReplayedMessage, out: Out): void {
  const markers: string[] = [];
  if (m.threadRootId !== undefined) markers.push(`[reply to ${m.threadRootId}]`);
  if (m.versions.length > 1) markers.push(`[edited ${m.versions.length - 1}x]`);
  if (m.redaction) {
    const by = m.redaction.byId === undefined ? '' : ` by ${m.redaction.byId}`;
    const why =
      m.redaction.reason === undefined ? '' : `, reason ${JSON.stringify(m.redaction.reason)}`;
    markers.push(`[redacted at ${iso(m.redaction.at)}${by}${why}]`);
  }
  if (m.later.edits > 0)
    markers.push(`[edited later${m.later.edits > 1 ? ` ${m.later.edits}x` : ''}]`);
  if (m.later.redactedAt) markers.push(`[redacted later at ${iso(m.later.redactedAt)}]`);
  if (m.reactionsIncomplete) markers.push('[some reactions unavailable: key shredded]');
  const id = m.messageId ?? `(unidentified, event ${m.eventId})`;
  const seq = m.sequence === undefined ? '' : ` #${m.sequence}`;
  out(
    `  ${iso(m.sentAt)}  ${m.authorId}${seq}  ${id}  ${content(m.content)}${markers.length > 0 ? `  ${markers.join(' ')}` : ''}`,
  );
  if (m.versions.length > 1) {
    for (const v of m.versions) {
      out(`      v${v.editNumber} ${iso(v.at)} by ${v.editorId}: ${content(v.content)}`);
    }
  }
  if (m.reactions.length > 0) {
    out(
      `      reactions: ${m.reactions.map((r) => `${r.emoji} ${r.memberIds.join(',')}`).join('; ')}`,
    );
  }
}

/** Quoted, so a text stays on its line and cannot carry terminal control sequences. */
function content(c: ReplayedContent): string {
  switch (c.status) {
    case 'available':
      return JSON.stringify(c.text);
    case 'redacted':
      return '[redacted]';
    case 'unavailable':
      return '[unavailable: key shredded]';
    case 'withheld':
      return '[withheld]';
  }
}

const iso = (at: Date | undefined) => at?.toISOString() ?? 'unknown';

// ---- JSON ---------------------------------------------------------------------------------------

/** Positions as tokens, revisions as strings, times as ISO 8601. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key: string, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (isPosition(v)) return encodePosition(v);
      return v;
    },
    2,
  );
}

function isPosition(v: unknown): v is { commit: bigint; prepare: bigint } {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p['commit'] === 'bigint' && typeof p['prepare'] === 'bigint';
}
