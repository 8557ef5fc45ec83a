import type { Permission } from '@ledgerline/identity';
import type { ConversationCommand } from '../domain/conversation.commands';

/**
 * The tenant-level permission (policies/roles.yaml) each command needs before its conversation is
 * even loaded. Roles inside the conversation (owner, moderator, member) are the decider's to check.
 *
 * - Creating: `conversation.create`; a service creating for users (it never takes part itself)
 *   needs `conversation.create_on_behalf`.
 * - Shaping a conversation (members, roles, title, archiving): `conversation.create`, as there is
 *   no separate "manage" permission; so an agent, which may not start conversations, may not
 *   reshape them either.
 * - Leaving: `conversation.read`, so leaving (which only reduces exposure) is never blocked by a
 *   narrower role than reading.
 * - Messages and receipts: their own permissions.
 */
export function permissionFor(command: ConversationCommand): Permission {
  switch (command.type) {
    case 'CreateDirectConversation':
    case 'CreateGroupConversation':
      return command.data.actor.kind === 'service'
        ? 'conversation.create_on_behalf'
        : 'conversation.create';
    case 'AddMember':
    case 'RemoveMember':
    case 'ChangeMemberRole':
    case 'RenameConversation':
    case 'ArchiveConversation':
    case 'UnarchiveConversation':
      return 'conversation.create';
    case 'LeaveConversation':
      return 'conversation.read';
    case 'SendMessage':
      return 'message.send';
    case 'EditMessage':
      return 'message.edit';
    case 'RedactMessage':
      return 'message.redact';
    case 'AddReaction':
    case 'RemoveReaction':
      return 'message.react';
    case 'MarkDelivered':
    case 'MarkRead':
      return 'receipt.write';
  }
}
