/**
 * `ddm config set`: edits one key in `config.toml` text, keeping every other line (comments,
 * order, line ends) byte for byte, and validates the result as `loadConfig` would.
 */

import { checkConfigText, coerce, type Origin, problemError, specOf, unknownKeyError } from './config.ts';
import { tomlLiteral, tomlString } from './config-docs.ts';
import { ASSIGN_LINE, type LineInfo, scanLines } from './config-lines.ts';
import { leafOf, tableOf } from './config-table.ts';

/** End offset of the TOML value at the start of `text` (a string, or up to a comment). */
function valueEnd(text: string): number {
  if (text.startsWith('"""') || text.startsWith("'''")) {
    const close = text.indexOf(text.slice(0, 3), 3);
    return close === -1 ? text.length : close + 3;
  }
  if (text.startsWith('"')) {
    for (let index = 1; index < text.length; index++) {
      if (text[index] === '\\') index++;
      else if (text[index] === '"') return index + 1;
    }
    return text.length;
  }
  if (text.startsWith("'")) {
    const close = text.indexOf("'", 1);
    return close === -1 ? text.length : close + 1;
  }
  const hash = text.indexOf('#');
  return (hash === -1 ? text : text.slice(0, hash)).trimEnd().length;
}

/** Index after the last line that belongs to the section starting at `from` (before `to`). */
function sectionInsertIndex(infos: readonly LineInfo[], from: number, to: number): number {
  let end = to;
  // Blank lines and the comment block just before the next header belong to that header.
  if (to < infos.length) {
    while (end > from && infos[end - 1]?.kind === 'blank') end--;
    while (end > from && infos[end - 1]?.kind === 'comment' && infos[end - 1]?.commentedKey === null) end--;
  }
  while (end > from && infos[end - 1]?.kind === 'blank') end--;
  return end;
}

/**
 * Sets `key` to `rawValue` (text as typed on the command line) in `fileText` and returns the new
 * text. The value is validated like an env value. An existing `key = ...` line is edited in
 * place (indentation and trailing comment kept); else a commented-out `# key = ...` line (as
 * written by `config init`) is replaced; else the line is appended to its table, which is
 * created when missing. All other lines, comments included, are kept byte for byte. Size
 * values keep the unit they were given in (`"10M"`).
 * @throws ConfigError `ERR_CONFIG`: unknown key (with a suggestion), invalid value, or a
 *   resulting file that does not validate (e.g. connections above max_connections).
 */
export function setConfigValue(fileText: string, key: string, rawValue: string, file = 'config.toml'): string {
  const spec = specOf(key);
  const argumentOrigin: Origin = { source: 'argument', file };
  if (spec === undefined) throw unknownKeyError(key, argumentOrigin);
  const result = coerce(spec, rawValue, true);
  if ('problem' in result) throw problemError(key, argumentOrigin, result.problem);
  const literal =
    spec.type === 'size' && !/^\s*\d+\s*$/.test(rawValue) ? tomlString(rawValue.trim()) : tomlLiteral(result.value);

  const newline = fileText.includes('\r\n') ? '\r\n' : '\n';
  const lines = fileText === '' ? [] : fileText.split(/\r?\n/);
  const hasFinalNewline = lines.length > 0 && lines[lines.length - 1] === '';
  if (hasFinalNewline) lines.pop();
  const infos = scanLines(lines);
  const table = tableOf(spec.key);
  const leaf = table === '' ? spec.key : leafOf(spec.key);

  const activeIndex = infos.findIndex((info) => info.kind === 'assign' && info.key === spec.key);
  if (activeIndex !== -1) {
    const match = ASSIGN_LINE.exec(lines[activeIndex] ?? '');
    if (match) {
      const [, indent = '', keyText = '', equals = ''] = match;
      // A multi-line string value may run on over the following lines.
      const rest = lines
        .slice(activeIndex)
        .join('\n')
        .slice((indent + keyText + equals).length);
      const end = valueEnd(rest);
      const consumedLines = rest.slice(0, end).split('\n').length;
      const trailing = rest.slice(end).split('\n')[0] ?? '';
      const comment = trailing.includes('#') ? trailing : '';
      lines.splice(activeIndex, consumedLines, `${indent}${keyText}${equals}${literal}${comment}`);
    }
  } else {
    const commentedIndex = infos.findIndex((info) => info.kind === 'comment' && info.commentedKey === spec.key);
    if (commentedIndex !== -1) {
      const indent = /^\s*/.exec(lines[commentedIndex] ?? '')?.[0] ?? '';
      lines.splice(commentedIndex, 1, `${indent}${leaf} = ${literal}`);
    } else if (table === '') {
      const firstHeader = infos.findIndex((info) => info.kind === 'header');
      const at =
        firstHeader === -1 ? sectionInsertIndex(infos, 0, infos.length) : sectionInsertIndex(infos, 0, firstHeader);
      lines.splice(at, 0, `${leaf} = ${literal}`);
      if (firstHeader !== -1 && at === firstHeader) lines.splice(at + 1, 0, '');
    } else {
      const headerIndex = infos.findIndex((info) => info.kind === 'header' && info.table === table);
      if (headerIndex === -1) {
        while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
        if (lines.length > 0) lines.push('');
        lines.push(`[${table}]`, `${leaf} = ${literal}`);
      } else {
        let next = infos.findIndex((info, index) => index > headerIndex && info.kind === 'header');
        if (next === -1) next = infos.length;
        lines.splice(sectionInsertIndex(infos, headerIndex + 1, next), 0, `${leaf} = ${literal}`);
      }
    }
  }
  const text = `${lines.join(newline)}${newline}`;

  checkConfigText(text, file);
  return text;
}
