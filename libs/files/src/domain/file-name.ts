import { InvalidFileInput } from './file.errors';

/** Longest file name, in UTF-8 bytes (what common file systems allow). */
export const MAX_FILE_NAME_BYTES = 255;

// The invisible direction marks and overrides that make `gpj.exe` read `exe.jpg`.
const DIRECTION = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);

/** C0 and C1 controls, DEL, and direction marks. */
function hasControl(name: string): boolean {
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || DIRECTION.has(c)) return true;
  }
  return false;
}

/**
 * A file name as the sender gave it (sealed in FileUploaded, shown to members, offered as the
 * download's name). Refused: empty, longer than 255 UTF-8 bytes, holding `/` or `\`, control or
 * direction characters, or only dots. Normalised to NFC.
 */
export function checkFileName(name: string, field = 'name'): string {
  if (name.length === 0) throw new InvalidFileInput(field, 'missing');
  if (name.length > 4 * MAX_FILE_NAME_BYTES) throw new InvalidFileInput(field, 'too_long');
  const normalised = name.normalize('NFC');
  if (Buffer.byteLength(normalised, 'utf8') > MAX_FILE_NAME_BYTES) {
    throw new InvalidFileInput(field, 'too_long');
  }
  if (normalised.includes('/') || normalised.includes('\\')) {
    throw new InvalidFileInput(field, 'path_separator');
  }
  if (hasControl(normalised)) throw new InvalidFileInput(field, 'control_character');
  if (/^\.+$/.test(normalised.trim()) || normalised.trim().length === 0) {
    throw new InvalidFileInput(field, 'reserved_name');
  }
  return normalised;
}
