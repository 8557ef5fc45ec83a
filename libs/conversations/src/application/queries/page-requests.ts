import { decodePosition, type GlobalPosition } from '@ledgerline/kernel';
import { InvalidCursorError, PageSizeError } from '../conversations.errors';
import type { PageRequest } from './conversation-queries.views';

/** A page request, checked: its size, its direction and where it starts. */
export interface ParsedPage {
  readonly limit: number;
  readonly backwards: boolean;
  readonly cursor: GlobalPosition | undefined;
}

/** Page sizes and cursors as callers give them, checked once at the start of a read. */
export class PageRequests {
  constructor(
    private readonly maxPageSize: number,
    private readonly defaultPageSize: number,
  ) {}

  size(requested: number | undefined): number {
    if (requested === undefined) return this.defaultPageSize;
    if (!Number.isInteger(requested) || requested < 1 || requested > this.maxPageSize) {
      throw new PageSizeError(requested, this.maxPageSize);
    }
    return requested;
  }

  parse(request: PageRequest): ParsedPage {
    const limit = this.size(request.limit);
    if (request.after !== undefined && request.before !== undefined) {
      throw new InvalidCursorError('give either after or before, not both', 'after');
    }
    if (request.after !== undefined) {
      return { limit, backwards: false, cursor: parseCursor(request.after, 'after') };
    }
    return {
      limit,
      backwards: true,
      cursor: request.before === undefined ? undefined : parseCursor(request.before, 'before'),
    };
  }
}

export function parseCursor(token: string, field = 'before'): GlobalPosition {
  const position = decodePosition(token);
  if (!position) throw new InvalidCursorError(`${field} is not a cursor`, field);
  return position;
}
