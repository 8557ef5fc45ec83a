import { InvalidFileInput } from './file.errors';

/** Longest file name, in UTF-8 bytes (what common file systems allow). */
export const MAX_FILE_NAME_BYTES = 255;

// C0 and C1 controls, DEL, and the invisible direction overrides that make `gpj.exe` read `exe.jpg`.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

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
  if (CONTROL.test(normalised)) throw new InvalidFileInput(field, 'control_character');
  if (/^\.+$/.test(normalised.trim()) || normalised.trim().length === 0) {
    throw new InvalidFileInput(field, 'reserved_name');
  }
  return normalised;
}
