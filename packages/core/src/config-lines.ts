/**
 * A line-level reading of TOML text: which line assigns which dotted key, opens which table, or
 * shows a commented-out key. Config errors use it to name a key's line (the TOML parser reports
 * none for valid values) and `config set` to edit a file without rewriting the user's lines.
 */

/** One line of TOML text, as far as key lookup and editing need to understand it. */
export interface LineInfo {
  kind: 'blank' | 'comment' | 'header' | 'assign' | 'other';
  /** Table the line is in (`''` = top level); for a header, the table it opens. */
  table: string;
  /** Full dotted key assigned on the line (`retry.attempts`). */
  key: string | null;
  /** For a comment like `# connections = 8`, the full key it shows. */
  commentedKey: string | null;
}

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${KEY_PART}(?:\s*\.\s*${KEY_PART})*`;
export const ASSIGN_LINE = new RegExp(String.raw`^(\s*)(${DOTTED_KEY})(\s*=\s*)(.*)$`);
const HEADER_LINE = new RegExp(String.raw`^\s*\[\[?\s*(${DOTTED_KEY})\s*\]\]?\s*(?:#.*)?$`);
const COMMENTED_ASSIGN = /^\s*#\s*([A-Za-z0-9_.-]+)\s*=/;

/** `"retry" . attempts` → `retry.attempts` (quotes removed). */
function normalizeDotted(text: string): string {
  const parts: string[] = [];
  const partPattern = new RegExp(KEY_PART, 'g');
  for (const match of text.matchAll(partPattern)) {
    const part = match[0];
    if (part.startsWith('"')) {
      try {
        parts.push(JSON.parse(part) as string);
      } catch {
        parts.push(part.slice(1, -1));
      }
    } else if (part.startsWith("'")) {
      parts.push(part.slice(1, -1));
    } else {
      parts.push(part);
    }
  }
  return parts.join('.');
}

function joinKey(table: string, key: string): string {
  return table === '' ? key : `${table}.${key}`;
}

/** Classifies lines, tracking `[table]` headers and skipping the inside of multi-line strings. */
export function scanLines(lines: readonly string[]): LineInfo[] {
  const infos: LineInfo[] = [];
  let table = '';
  let openQuote: string | null = null;
  for (const line of lines) {
    if (openQuote !== null) {
      if (line.includes(openQuote)) openQuote = null;
      infos.push({ kind: 'other', table, key: null, commentedKey: null });
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '') {
      infos.push({ kind: 'blank', table, key: null, commentedKey: null });
      continue;
    }
    if (trimmed.startsWith('#')) {
      const commented = COMMENTED_ASSIGN.exec(line);
      infos.push({
        kind: 'comment',
        table,
        key: null,
        commentedKey: commented ? joinKey(table, commented[1] ?? '') : null,
      });
      continue;
    }
    const header = HEADER_LINE.exec(line);
    if (header) {
      table = normalizeDotted(header[1] ?? '');
      infos.push({ kind: 'header', table, key: null, commentedKey: null });
      continue;
    }
    const assign = ASSIGN_LINE.exec(line);
    if (assign) {
      infos.push({ kind: 'assign', table, key: joinKey(table, normalizeDotted(assign[2] ?? '')), commentedKey: null });
      const value = assign[4] ?? '';
      for (const quote of ['"""', "'''"]) {
        const start = value.indexOf(quote);
        if (start !== -1 && value.indexOf(quote, start + 3) === -1) openQuote = quote;
      }
      continue;
    }
    infos.push({ kind: 'other', table, key: null, commentedKey: null });
  }
  return infos;
}

/** 1-based line of `key`, else of its nearest parent (a table header, an inline table). */
export function lineOfKey(infos: readonly LineInfo[], key: string): number | null {
  for (
    let candidate = key;
    candidate !== '';
    candidate = candidate.includes('.') ? candidate.slice(0, candidate.lastIndexOf('.')) : ''
  ) {
    const index = infos.findIndex(
      (info) =>
        (info.kind === 'assign' && info.key === candidate) || (info.kind === 'header' && info.table === candidate),
    );
    if (index !== -1) return index + 1;
  }
  return null;
}
