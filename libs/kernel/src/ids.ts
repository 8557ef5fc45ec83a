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
