import {
  conversationStreamId,
  type ConversationState,
  type ConversationStates,
  type LoadedConversation,
} from '@ledgerline/conversations';
import type { Permission, Principal } from '@ledgerline/identity';
import { UnavailableError, type Clock, type GlobalPosition } from '@ledgerline/kernel';
import type { CommandHandler, CommandRunner } from '@ledgerline/pipeline';
import type { FileCommand } from '../domain/file.commands';
import { decideFile } from '../domain/file.decider';
import type { FileEvent } from '../domain/file.events';
import { encodeFileEvent } from './file-events.codec';
import type { FileRecords } from './file-records.port';
import { FileNotFoundError } from '../domain/file.errors';

export interface FileCommandResult {
  readonly eventIds: readonly string[];
  readonly events: readonly FileEvent[];
  readonly revision: bigint;
  /** Position of the last appended event; undefined when nothing was appended. */
  readonly position: GlobalPosition | undefined;
}

const PERMISSION: Record<FileCommand['type'], Permission | undefined> = {
  RecordUpload: 'file.upload',
  RemoveFile: 'file.remove',
  // The system attaches thumbnails to files it recorded: no principal to check.
  AttachThumbnail: undefined,
};

/** The stream kept moving under every attempt: retry the request. */
export class FileBusyError extends UnavailableError {
  override readonly code = 'file_busy';
}

/**
 * File commands on the one CommandRunner, in the file's conversation stream: the conversation's
 * state (members, roles, archived) is what the file decider decides on, loaded by the
 * conversations lib's own loader, and file events are sealed under the conversation's keys.
 */
export class FileCommands {
  constructor(
    private readonly runner: CommandRunner,
    private readonly states: ConversationStates,
    private readonly records: FileRecords,
    private readonly clock: Clock,
    /**
     * Resolves once the files read model holds `position` (read-your-writes: the uploader's next
     * request finds the file). A wait that times out is not an error: the event is appended.
     */
    private readonly projected: (position: GlobalPosition) => Promise<void> = async () => {},
  ) {}

  /** Removes a file (its uploader, a moderator or an owner, or a service). */
  async remove(principal: Principal, fileId: string): Promise<FileCommandResult> {
    const record = await this.records.get(principal.tenantId, fileId);
    if (!record) throw new FileNotFoundError(fileId);
    return this.execute(
      {
        type: 'RemoveFile',
        data: {
          tenantId: principal.tenantId,
          conversationId: record.conversationId,
          fileId,
          actor: { id: principal.id, kind: principal.kind },
          file: {
            conversationId: record.conversationId,
            uploaderId: record.uploaderId,
            status: record.status,
          },
        },
      },
      { principal },
    );
  }

  async execute(
    command: FileCommand,
    options: { readonly principal?: Principal; readonly commandId?: string } = {},
  ): Promise<FileCommandResult> {
    const permission = PERMISSION[command.type];
    const handler =
      permission === undefined
        ? this.handler
        : {
            ...this.handler,
            access: (c: FileCommand) => ({
              permission,
              resource: {
                tenantId: c.data.tenantId,
                type: 'conversation',
                id: c.data.conversationId,
              },
            }),
          };
    const result = await this.runner.run(handler, this.states, command, options);
    if (result.position) await this.projected(result.position).catch(() => undefined);
    return result;
  }

  /** The conversation's current state (for checks before any byte is accepted). */
  async conversation(tenantId: string, conversationId: string): Promise<ConversationState> {
    const loaded = await this.states.load(tenantId, conversationStreamId(tenantId, conversationId));
    return loaded.state;
  }

  private readonly handler: CommandHandler<
    FileCommand,
    ConversationState,
    LoadedConversation,
    FileEvent,
    FileCommandResult
  > = {
    target: (c) => ({
      tenantId: c.data.tenantId,
      streamId: conversationStreamId(c.data.tenantId, c.data.conversationId),
    }),
    decide: (c, loaded) => decideFile(c, loaded.state, { now: this.clock.now() }),
    encode: (event, eventId) => encodeFileEvent(event, eventId),
    unchanged: (_c, loaded) => ({
      eventIds: [],
      events: [],
      revision: loaded.revision,
      position: undefined,
    }),
    appended: (_c, loaded, { events, eventIds, result }) => {
      // File events leave the conversation's state as it was; only its revision moves.
      this.states.remember({
        ...loaded,
        revision: result.nextExpectedRevision,
        lastEventId: eventIds[eventIds.length - 1],
      });
      return { eventIds, events, revision: result.nextExpectedRevision, position: result.position };
    },
    busy: (streamId, attempts) =>
      new FileBusyError(`stream ${streamId} kept moving over ${attempts} attempts`),
  };
}
