import { auditManifest } from '@ledgerline/audit/manifest';
import { callsManifest } from '@ledgerline/calls/manifest';
import { conversationsManifest } from '@ledgerline/conversations/manifest';
import { cryptoManifest } from '@ledgerline/crypto/manifest';
import { eventStoreManifest } from '@ledgerline/event-store/manifest';
import { identityManifest } from '@ledgerline/identity/manifest';
import type { LibManifest } from '@ledgerline/kernel';
import { pipelineManifest } from '@ledgerline/pipeline/manifest';
import { filesManifest } from '@ledgerline/files/manifest';
import { presenceManifest } from '@ledgerline/presence/manifest';
import { sfuManifest } from '@ledgerline/sfu/manifest';
import { pushManifest } from '@ledgerline/push/manifest';
import { turnManifest } from '@ledgerline/turn/manifest';

/**
 * The libs this deployment composes, in dependency order (a lib's tables after those it refers
 * to). The one place a new lib is added; each lib's own parts stay in its manifest (ADR 0027).
 * Imported by the CLI too: `ledgerline migrate` takes exactly the schema a server takes.
 */
export const LEDGERLINE_LIBS: readonly LibManifest[] = [
  eventStoreManifest,
  cryptoManifest,
  identityManifest,
  pipelineManifest,
  conversationsManifest,
  presenceManifest,
  auditManifest,
  turnManifest,
  filesManifest,
  callsManifest,
  sfuManifest,
  pushManifest,
];
