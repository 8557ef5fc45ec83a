import type { LibManifest } from '@ledgerline/kernel';
import { sfuConfig } from './sfu.config';

/** What the SFU engines bring to a process (docs/adr/0027); loaded without the rest of the lib. */
export const sfuManifest: LibManifest = { name: 'sfu', config: sfuConfig };
