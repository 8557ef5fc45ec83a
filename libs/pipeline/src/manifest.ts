import type { LibManifest } from '@ledgerline/kernel';
import { pipelineMigrations } from './projections/pipeline.migrations';

/** What the event pipeline brings to a process (docs/adr/0027); loaded without the rest of the lib. */
export const pipelineManifest: LibManifest = {
  name: 'pipeline',
  schema: [{ namespace: 'pipeline', migrations: pipelineMigrations }],
};
