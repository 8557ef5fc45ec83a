import { v7 as uuidv7, validate as uuidValidate } from 'uuid';

/** Source of new ids; injected so deciders and tests stay deterministic. */
export interface IdGenerator {
  /** A new UUIDv7: time-ordered, so ids sort roughly by creation and index well. */
  next(): string;
}

export const uuidV7Generator: IdGenerator = { next: () => uuidv7() };

export function isUuid(value: string): boolean {
  return uuidValidate(value);
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The one rule for tenant ids, wherever one enters (a token's claim, an API key, an event, a
 * stream name): 1 to 64 letters, digits, `_` and `-`, starting with a letter or digit. A credential
 * naming a tenant outside it is refused at authentication, not at its first write.
 */
export function isValidTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID.test(value);
}
