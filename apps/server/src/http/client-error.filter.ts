import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ValidationError } from '@ledgerline/kernel';

/**
 * A request refused for its input (a bad `/dev/token` body, a DTO that fails validation) is the
 * client's mistake, not the server's: it is answered 400 with the error's code and message (field
 * names and constraint names, never values), and logged at debug level, without a stack. Nest's
 * default handler logged it as an error with its stack frames, which buried real failures.
 *
 * Only HTTP routes: GraphQL formats its own errors, so anything else is rethrown unchanged.
 */
@Catch(ValidationError)
export class ClientErrorFilter implements ExceptionFilter<ValidationError> {
  private readonly logger = new Logger('Http');

  catch(error: ValidationError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const request = http.getRequest<{ method?: string; path?: string }>();
    const status = statusOf(error);
    this.logger.debug({
      msg: 'request refused: client error',
      method: request.method,
      path: request.path,
      status,
      code: error.code,
      ...(error.field === undefined ? {} : { field: error.field }),
    });
    http.getResponse<JsonResponse>().status(status).json({
      statusCode: status,
      code: error.code,
      message: error.message,
    });
  }
}

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

function statusOf(error: ValidationError): number {
  const declared = (error as { statusCode?: unknown }).statusCode;
  return typeof declared === 'number' && declared >= 400 && declared < 500 ? declared : 400;
}
