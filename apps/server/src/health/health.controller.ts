import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { Readiness } from './readiness';

const PING_TIMEOUT_MS = 2_000;

@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readiness: Readiness,
  ) {}

  /** The process is up. Never touches a dependency, so a slow database does not get it killed. */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'live' } {
    return { status: 'live' };
  }

  /** The process can serve: not shutting down, and its event store answers. */
  @Get('ready')
  async ready(): Promise<{ status: 'ready' }> {
    if (this.readiness.isDraining) throw new ServiceUnavailableException({ status: 'draining' });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
        }),
      ]);
    } catch {
      throw new ServiceUnavailableException({ status: 'unavailable', dependency: 'event-store' });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  }
}
