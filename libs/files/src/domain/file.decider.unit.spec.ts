import {
  evolveConversation,
  initialConversationState,
  type ConversationEvent,
  type ConversationState,
} from '@ledgerline/conversations';
import { DeciderSpecification } from '@ledgerline/testing';
import type { FileCommand, KnownFile } from './file.commands';
import { decideFile } from './file.decider';
import { FileNotFoundError, FileRefused, InvalidFileInput } from './file.errors';
import type { FileEvent, StoredBody } from './file.events';
import { checkFileName } from './file-name';

const NOW = new Date('2026-12-07T10:00:00.000Z');
const TENANT = 'clinic';
const CONV = '01900000-0000-7000-8000-000000000001';
const FILE = '01900000-0000-7000-8000-0000000000f1';
const nurse = { id: 'nurse', kind: 'user' as const };
const doctor = { id: 'doctor', kind: 'user' as const };
const owner = { id: 'owner', kind: 'user' as const };
const backend = { id: 'backend', kind: 'service' as const };
const stranger = { id: 'stranger', kind: 'user' as const };

type Event = ConversationEvent | FileEvent;

/** File decisions on the conversation's state; file events leave that state as it is. */
const fileDecider = {
  decide: (command: FileCommand, state: ConversationState) =>
    decideFile(command, state, { now: NOW }),
  evolve: (state: ConversationState, event: Event): ConversationState =>
    event.type === 'FileUploaded' ||
    event.type === 'FileQuarantined' ||
    event.type === 'FileRemoved' ||
    event.type === 'ThumbnailAttached'
      ? state
      : evolveConversation(state, event),
  initialState: initialConversationState,
};
const spec = DeciderSpecification.for(fileDecider);

const created: ConversationEvent = {
  type: 'GroupConversationCreated',
  v: 1,
  data: {
    tenantId: TENANT,
    conversationId: CONV,
    actor: owner,
    at: NOW.toISOString(),
    title: 'Ward 3',
    members: [
      { ...owner, role: 'owner' },
      { ...nurse, role: 'member' },
      { ...doctor, role: 'moderator' },
    ],
  },
};
const archived: ConversationEvent = {
  type: 'ConversationArchived',
  v: 1,
  data: { tenantId: TENANT, conversationId: CONV, actor: owner, at: NOW.toISOString() },
};

const body: StoredBody = {
  blobKey: `f/${FILE}/p0`,
  keyId: 'key-1',
  epoch: '2026-12',
  chunkSize: 65536,
  size: 1234,
};

function record(
  actor: FileCommand['data']['actor'],
  extra: { infected?: string; name?: string } = {},
) {
  return {
    type: 'RecordUpload' as const,
    data: {
      tenantId: TENANT,
      conversationId: CONV,
      fileId: FILE,
      actor,
      name: extra.name ?? 'wound.jpg',
      mediaType: 'image/jpeg',
      sha256: 'ab'.repeat(32),
      body,
      ...(extra.infected ? { infected: extra.infected } : {}),
    },
  };
}

function remove(actor: FileCommand['data']['actor'], file: KnownFile | undefined): FileCommand {
  return {
    type: 'RemoveFile',
    data: { tenantId: TENANT, conversationId: CONV, fileId: FILE, actor, file },
  };
}

const base = (actor: { id: string; kind: 'user' | 'service' | 'agent' }) => ({
  tenantId: TENANT,
  conversationId: CONV,
  fileId: FILE,
  actor,
  at: NOW.toISOString(),
});

describe('the file decider', () => {
  it('records a member’s upload, sealed metadata and all', () => {
    spec
      .given(created)
      .when(record(nurse))
      .then([
        {
          type: 'FileUploaded',
          v: 1,
          data: {
            ...base(nurse),
            name: 'wound.jpg',
            mediaType: 'image/jpeg',
            sha256: 'ab'.repeat(32),
            body,
          },
        },
      ]);
  });

  it('records an infected upload and quarantines it in the same decision', () => {
    spec
      .given(created)
      .when(record(nurse, { infected: 'Eicar-Signature' }))
      .then(({ events }) => {
        expect(events.map((e) => e.type)).toEqual(['FileUploaded', 'FileQuarantined']);
        expect(events[1]).toMatchObject({ data: { signature: 'Eicar-Signature' } });
      });
  });

  it.each([
    ['a stranger', stranger, 'not_a_member'],
    ['a service (never a member)', backend, 'not_a_member'],
  ])('refuses an upload by %s', (_who, actor, reason) => {
    spec
      .given(created)
      .when(record(actor))
      .thenThrows(FileRefused, (e) => expect((e as FileRefused).reason).toBe(reason));
  });

  it('refuses an upload to a conversation that does not exist, or is archived', () => {
    spec
      .given([])
      .when(record(nurse))
      .thenThrows(FileRefused, (e) =>
        expect((e as FileRefused).reason).toBe('conversation_not_found'),
      );
    spec
      .given([created, archived])
      .when(record(nurse))
      .thenThrows(FileRefused, (e) => expect((e as FileRefused).reason).toBe('archived'));
  });

  it('refuses a name that is unsafe to show or to save', () => {
    spec
      .given(created)
      .when(record(nurse, { name: 'a/b.jpg' }))
      .thenThrows(InvalidFileInput);
  });

  describe('removal', () => {
    const nurses: KnownFile = { conversationId: CONV, uploaderId: 'nurse', status: 'available' };

    it('lets the uploader, a moderator, an owner and a service remove a file', () => {
      for (const actor of [nurse, doctor, owner, backend]) {
        spec
          .given(created)
          .when(remove(actor, nurses))
          .then([{ type: 'FileRemoved', v: 1, data: base(actor) }]);
      }
    });

    it('refuses another plain member, and answers not found for a stranger', () => {
      const doctors: KnownFile = { ...nurses, uploaderId: 'doctor' };
      spec
        .given(created)
        .when(remove(nurse, doctors))
        .thenThrows(FileRefused, (e) => expect((e as FileRefused).reason).toBe('not_allowed'));
      spec.given(created).when(remove(stranger, nurses)).thenThrows(FileNotFoundError);
    });

    it('decides nothing for a file already removed, and not found for an unknown one', () => {
      spec
        .given(created)
        .when(remove(nurse, { ...nurses, status: 'removed' }))
        .thenNothingHappened();
      spec.given(created).when(remove(nurse, undefined)).thenThrows(FileNotFoundError);
      spec
        .given(created)
        .when(remove(nurse, { ...nurses, conversationId: 'elsewhere' }))
        .thenThrows(FileNotFoundError);
    });
  });
});

describe('file names', () => {
  it.each([
    ['', 'missing'],
    ['../x.pdf', 'path_separator'],
    ['a\\b.pdf', 'path_separator'],
    ['line\nbreak.pdf', 'control_character'],
    ['nul\u0000.pdf', 'control_character'],
    ['del\u007f.pdf', 'control_character'],
    ['rtl\u202egnp.exe', 'control_character'],
    ['..', 'reserved_name'],
    ['   ', 'reserved_name'],
    ['x'.repeat(256), 'too_long'],
    ['é'.repeat(128), 'too_long'],
    ['a'.repeat(10_000), 'too_long'],
  ])('refuses %j (%s)', (name, problem) => {
    let thrown: unknown;
    try {
      checkFileName(name);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidFileInput);
    expect((thrown as InvalidFileInput).problem).toBe(problem);
  });

  it('keeps an ordinary name, normalised to NFC', () => {
    expect(checkFileName('Re\u0301sume\u0301 (final) — v2.pdf')).toBe('Résumé (final) — v2.pdf');
    expect(checkFileName('x'.repeat(255))).toHaveLength(255);
  });
});
