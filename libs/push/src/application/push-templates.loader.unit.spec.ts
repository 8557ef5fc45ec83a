import { join } from 'node:path';
import { ConfigError } from '@ledgerline/kernel';
import { renderAlert } from '../domain/push-templates';
import { loadPushTemplates } from './push-templates.loader';

describe('push templates (policies/push-templates.yaml)', () => {
  it('the checked-in file is valid and renders only payload fields', () => {
    const templates = loadPushTemplates(
      join(__dirname, '../../../../policies/push-templates.yaml'),
    );
    expect(renderAlert(templates, { kind: 'message', conversationId: 'c1', count: 3 })).toEqual({
      title: 'New message',
      body: 'You have 3 new messages',
    });
    expect(renderAlert(templates, { kind: 'mention', conversationId: 'c1', count: 1 }).body).toBe(
      'Someone mentioned you',
    );
  });

  it('a bad file stops start-up with the file and path named', () => {
    expect(() => loadPushTemplates('/nonexistent/push-templates.yaml')).toThrow(ConfigError);
  });
});
