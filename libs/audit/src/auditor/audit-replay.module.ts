import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { ACCESS_POLICY, type AccessPolicy } from '@ledgerline/identity';
import { AuditorReplay } from './auditor-replay.handler';
import {
  CONVERSATION_REPLAY_SOURCE,
  type ConversationReplaySource,
} from './conversation-replay.port';

export interface AuditReplayModuleOptions {
  /**
   * Where the conversations' replay comes from: the module exporting it (the app's
   * ConversationsModule instance) and its class there, which must fit ConversationReplaySource
   * (checked by the compiler, structurally: libs/audit does not import libs/conversations).
   */
  readonly conversations: {
    readonly module: DynamicModule | Type;
    readonly useExisting: Type<ConversationReplaySource>;
  };
}

/**
 * The auditor's replay (AuditorReplay, behind `auditConversationHistory`): the permission checks
 * over the conversations' replay, bound to CONVERSATION_REPLAY_SOURCE here. Needs ACCESS_POLICY
 * from the app.
 */
@Module({})
export class AuditReplayModule {
  static forRoot(options: AuditReplayModuleOptions): DynamicModule {
    return {
      module: AuditReplayModule,
      imports: [options.conversations.module],
      providers: [
        { provide: CONVERSATION_REPLAY_SOURCE, useExisting: options.conversations.useExisting },
        {
          provide: AuditorReplay,
          inject: [ACCESS_POLICY, CONVERSATION_REPLAY_SOURCE],
          useFactory: (access: AccessPolicy, source: ConversationReplaySource) =>
            new AuditorReplay(access, source),
        },
      ],
      exports: [AuditorReplay, CONVERSATION_REPLAY_SOURCE],
    };
  }
}
