import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DATA_KEYS } from '@ledgerline/crypto';
import { SQL_CLIENT } from '@ledgerline/database';
import { CHECKPOINT_STORE, EVENT_STORE, SqlCheckpointStore } from '@ledgerline/event-store';
import { ACCESS_POLICY, ACCESS_RECORDER } from '@ledgerline/identity';
import { CLOCK, CONFIG, ID_GENERATOR, loadConfig, uuidV7Generator } from '@ledgerline/kernel';
import { LEDGER } from '@ledgerline/ledger';
import { PipelineModule } from '@ledgerline/pipeline';
import {
  newTenant,
  openConversationsFixture,
  type ConversationsFixture,
} from './application/testing/conversations-fixture';
import { ConversationCommands } from './application/conversation-commands.handler';
import { ConversationQueries } from './application/queries/conversation-queries.handler';
import { ConversationsModule } from './conversations.module';
import { ConversationProjections } from './projections/conversation-projections';

// The app's global providers, from the real pieces of the fixture (database, ledger, keys, policy).
@Module({})
class TestGlobals {
  static with(f: ConversationsFixture, checkpoints: SqlCheckpointStore): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: loadConfig({}) },
      { provide: CLOCK, useValue: f.clock },
      { provide: ID_GENERATOR, useValue: uuidV7Generator },
      { provide: SQL_CLIENT, useValue: f.db.client },
      { provide: CHECKPOINT_STORE, useValue: checkpoints },
      { provide: EVENT_STORE, useValue: f.store },
      { provide: LEDGER, useValue: f.ledger },
      { provide: DATA_KEYS, useValue: f.dataKeys },
      { provide: ACCESS_POLICY, useValue: f.access },
      { provide: ACCESS_RECORDER, useValue: f.accessLog },
    ];
    return {
      module: TestGlobals,
      global: true,
      providers,
      exports: providers.map((p) => p.provide),
    };
  }
}

describe('ConversationsModule', () => {
  let f: ConversationsFixture;

  beforeAll(async () => {
    f = await openConversationsFixture('pglite');
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('wires commands, queries and projections; projections run from bootstrap to shutdown', async () => {
    const checkpoints = SqlCheckpointStore.create(f.db.client);
    const moduleRef = await Test.createTestingModule({
      imports: [
        TestGlobals.with(f, checkpoints),
        PipelineModule.forRoot(),
        ConversationsModule.forRoot({ snapshotEvery: 2 }),
      ],
    }).compile();
    const app = await moduleRef.init();
    const commands = app.get(ConversationCommands);
    const queries = app.get(ConversationQueries);
    const projections = app.get(ConversationProjections);
    const t = newTenant();
    const conversationId = t.conversationId();
    await commands.execute(t.alice, {
      type: 'CreateGroupConversation',
      data: {
        conversationId,
        title: 'Team',
        members: [{ id: 'bob', kind: 'user', role: 'member' }],
      },
    });
    const sent = await commands.execute(t.bob, {
      type: 'SendMessage',
      data: { conversationId, clientMessageId: 'c-1', text: 'hello' },
    });
    await projections.waitFor(sent.position!);
    const page = await queries.messages(t.alice, conversationId);
    expect(page.items.map((m) => m.content)).toEqual([{ status: 'available', text: 'hello' }]);
    const snapshots = await f.db.client.query('select 1 from ll_conversation_snapshots');
    expect(snapshots).toHaveLength(1);
    await app.close();
    // Each read model's checkpoint committed with its rows, at or past the message.
    const saved = await f.db.client.query<{ name: string; prepare: string }>(
      'select name, prepare_position as prepare from ll_projections order by name',
    );
    expect(saved.map((r) => r.name)).toEqual([...projections.names].sort());
    for (const row of saved) {
      expect(BigInt(row.prepare)).toBeGreaterThanOrEqual(sent.position!.prepare);
    }
  });
});
