/**
 * Every permission a role can grant, as checked at the start of a handler. policies/roles.yaml may
 * only name these; a new permission is added here together with the handler that checks it.
 *
 * Tenant-level only: who may do what inside one conversation (owner, moderator, member) is the
 * conversation's own state, enforced by its decider after this check passed.
 */
export const PERMISSIONS = [
  'conversation.create',
  /** Create a conversation naming another principal as its creator (backends acting for users). */
  'conversation.create_on_behalf',
  'conversation.read',
  'message.send',
  'message.edit',
  'message.redact',
  'message.react',
  'receipt.write',
  'presence.read',
  'presence.write',
  'audit.read',
  'audit.export',
  'audit.replay',
  'keys.rotate',
  'keys.shred',
  'apikeys.manage',
  // libs/calls
  /** Start a call in a conversation one is a member of. */
  'call.start',
  /** Answer, decline, join, leave and signal in calls of one's conversations. */
  'call.join',
  /** Send media in a call; without it a participant may only listen. */
  'call.speak',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const KNOWN: ReadonlySet<string> = new Set(PERMISSIONS);

export function isPermission(value: string): value is Permission {
  return KNOWN.has(value);
}
