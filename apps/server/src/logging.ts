import type { Params } from 'nestjs-pino';
import type { LedgerlineConfig } from '@ledgerline/kernel';

/**
 * Structured JSON logs (pino). Requests are logged by method, route and status only: no query
 * strings, bodies or headers, which may carry tokens or PHI; anything that still looks like a
 * secret is redacted.
 */
export function loggerOptions(config: LedgerlineConfig): Params {
  return {
    pinoHttp: {
      level: config.log.level,
      base: { service: 'ledgerline' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.token',
          '*.secret',
          '*.masterKey',
          '*.databaseUrl',
        ],
        censor: '[redacted]',
      },
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
      serializers: {
        req: (req: { method?: string; url?: string; id?: unknown }) => ({
          id: req.id,
          method: req.method,
          path: (req.url ?? '').split('?')[0],
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
