import type { Readable } from 'node:stream';

export type ScanResult =
  { readonly clean: true } | { readonly clean: false; readonly signature: string };

/**
 * Scans a file's plaintext before it becomes available. Every adapter guarantees: the stream is
 * consumed whole (or the scan fails); `clean: false` only for a detection, with the scanner's
 * name for it; a scanner that cannot be reached or fails is an UnavailableError (the upload is
 * then not recorded, and can be finished again), never a silent pass.
 */
export interface VirusScanner {
  scan(body: Readable): Promise<ScanResult>;
}
