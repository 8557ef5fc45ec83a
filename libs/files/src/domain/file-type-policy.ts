import { InvalidFileInput } from './file.errors';

/** How one allowed type is recognised in the content. */
export interface AllowedFileType {
  readonly mediaType: string;
  /**
   * `signature`: the content's magic bytes must say one of `detectedAs` (default: the type
   * itself). `text`: the content has no signature (file-type finds none) and no NUL byte.
   */
  readonly content: 'signature' | 'text';
  readonly detectedAs: readonly string[];
}

/** The allowed types (policies/files.yaml) and the check of a declared type against content. */
export class FileTypePolicy {
  private readonly byType: ReadonlyMap<string, AllowedFileType>;

  constructor(readonly types: readonly AllowedFileType[]) {
    this.byType = new Map(types.map((t) => [t.mediaType, t]));
  }

  /** The declared type, lower-cased without parameters, if the policy allows it at all. */
  declared(mediaType: string, field = 'type'): string {
    const bare = mediaType.split(';')[0]!.trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(bare)) {
      throw new InvalidFileInput(field, 'invalid_format');
    }
    if (!this.byType.has(bare)) throw new InvalidFileInput(field, 'type_not_allowed');
    return bare;
  }

  /**
   * Checks the declared (allowed) type against what the first bytes are: `detected` is the
   * content sniffer's answer (undefined: no known signature), `sample` the bytes it saw.
   */
  matches(declared: string, detected: string | undefined, sample: Uint8Array): void {
    const rule = this.byType.get(declared);
    if (!rule) throw new InvalidFileInput('type', 'type_not_allowed');
    const ok =
      rule.content === 'text'
        ? detected === undefined && !sample.includes(0)
        : detected !== undefined && rule.detectedAs.includes(detected);
    if (!ok) throw new InvalidFileInput('type', 'type_mismatch');
  }

  /** Types a thumbnail is made for. */
  isImage(mediaType: string): boolean {
    return ['image/jpeg', 'image/png', 'image/webp', 'image/gif'].includes(mediaType);
  }
}
