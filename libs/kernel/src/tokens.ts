// Injection tokens for the kernel's values. Plain symbols: the kernel stays free of any framework.
export const CONFIG = Symbol('LedgerlineConfig');
export const CLOCK = Symbol('Clock');
export const ID_GENERATOR = Symbol('IdGenerator');
