import { systemClock, type Clock } from './clock';
import type { LedgerlineConfig } from './config/config';
import { uuidV7Generator, type IdGenerator } from './ids';

// Injection tokens for the kernel's values. Plain symbols: the kernel stays free of any framework.
export const CONFIG = Symbol('LedgerlineConfig');
export const CLOCK = Symbol('Clock');
export const ID_GENERATOR = Symbol('IdGenerator');

/** The kernel's values as value providers, for every process's root module to register. */
export function kernelProviders(
  config: LedgerlineConfig,
  overrides: { clock?: Clock; ids?: IdGenerator } = {},
): { provide: symbol; useValue: unknown }[] {
  return [
    { provide: CONFIG, useValue: config },
    { provide: CLOCK, useValue: overrides.clock ?? systemClock },
    { provide: ID_GENERATOR, useValue: overrides.ids ?? uuidV7Generator },
  ];
}
