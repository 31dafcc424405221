/** What a Content-Disposition header says, as far as picking a download goes. */
export interface ContentDisposition {
  /** Lower-case disposition type: "attachment", "inline", ... */
  readonly type: string;
  /** `filename*` (RFC 8187) when decodable, else `filename`; unsanitised; null when absent. */
  readonly fileName: string | null;
}

const PARAM = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

function decodeExtValue(value: string): string | null {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value.trim());
  if (match === null) return null;
  const charset = (match[1] ?? '').toLowerCase();
  const encoded = match[2] ?? '';
  try {
    if (charset === 'utf-8') return decodeURIComponent(encoded);
    if (charset === 'iso-8859-1') {
      return encoded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Reads the type and file name of a Content-Disposition value (RFC 6266): `filename*` with its
 * RFC 8187 charset encoding wins over `filename`. The name is returned as the server sent it;
 * the engine sanitises it before it touches the file system. Never throws.
 */
export function parseContentDisposition(value: string): ContentDisposition {
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  let plain: string | null = null;
  let extended: string | null = null;
  for (const match of value.matchAll(PARAM)) {
    const key = (match[1] ?? '').toLowerCase();
    const raw = (match[2] ?? '').trim();
    if (key === 'filename*') {
      extended = decodeExtValue(raw.startsWith('"') ? raw.slice(1, -1) : raw) ?? extended;
    } else if (key === 'filename') {
      plain = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
  }
  const fileName = extended ?? plain;
  return { type, fileName: fileName === null || fileName === '' ? null : fileName };
}
