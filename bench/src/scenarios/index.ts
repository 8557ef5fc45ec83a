import { eventStoreAppend } from './event-store-append';
import type { Scenario } from './scenario';

export type { Scenario, ScenarioContext } from './scenario';

/** Every scenario `npm run bench` runs, in order. Add new ones here. */
export const scenarios: readonly Scenario[] = [eventStoreAppend];
