/**
 * "Did you mean": the nearest known command or flag to what a user typed, and the check that
 * every flag on a command line is one the command knows, spelled as the user typed it (cac
 * would echo `--inputFil` for `--input-fil`).
 */

/**
 * Edit distance with adjacent transpositions counted as one edit (optimal string alignment):
 * `gte` is one edit from `get`, as a finger slip is.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The candidate nearest to `typed` when it is near enough to be a typo (at most 2 edits, or a
 * third of the word's length for long words), else null. Ties go to the earlier candidate.
 */
export function nearest(typed: string, candidates: Iterable<string>): string | null {
  const lower = typed.toLowerCase();
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance > 0 && bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : null;
}

/** A flag as the help shows it: its spellings and whether it takes a value. */
export interface FlagSpec {
  /** `['-x', '--connections']`. */
  names: string[];
  takesValue: boolean;
}

/** `'-x, --connections <n>'` (a cac option's rawName) as a FlagSpec. */
export function flagSpecOf(rawName: string): FlagSpec {
  const names = rawName
    .replace(/\s*[<[].*$/, '')
    .split(/[\s,]+/)
    .filter((name) => name.startsWith('-'));
  return { names, takesValue: /[<[]/.test(rawName) };
}

/**
 * The first flag in `args` (the words after `ddm`) that `flags` does not know, as typed
 * (`--connectons`, `-Z`), or null. Stops at `--`; skips the value of a known flag that takes
 * one; a lone `-` and negative numbers are values, not flags.
 */
export function firstUnknownFlag(args: readonly string[], flags: readonly FlagSpec[]): string | null {
  const byName = new Map<string, FlagSpec>();
  for (const flag of flags) for (const name of flag.names) byName.set(name, flag);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return null;
    if (arg === '-' || !arg.startsWith('-') || /^-\d/.test(arg)) continue;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg : arg.slice(0, eq);
      const spec = byName.get(name);
      if (!spec) return name;
      if (spec.takesValue && eq === -1 && !(args[i + 1] ?? '-').startsWith('-')) i++;
      continue;
    }
    // `-abc`: short flags together, as mri reads them: each letter a flag, the last one may take the next word.
    for (let j = 1; j < arg.length; j++) {
      const name = `-${arg[j]}`;
      const spec = byName.get(name);
      if (!spec) return name;
      if (spec.takesValue && j === arg.length - 1 && !(args[i + 1] ?? '-').startsWith('-')) i++;
    }
  }
  return null;
}

/**
 * The message for an unknown flag: `Unknown option --connectons; did you mean --connections?`.
 * A short flag is only matched by case (`-X` for `-x`); `elsewhere` names a command that has it.
 */
export function unknownFlagMessage(typed: string, flags: readonly FlagSpec[], elsewhere: string | null): string {
  const names = flags.flatMap((flag) => flag.names);
  const guess = typed.startsWith('--')
    ? nearest(
        typed,
        names.filter((name) => name.startsWith('--')),
      )
    : (names.find((name) => name !== typed && name.toLowerCase() === typed.toLowerCase()) ?? null);
  if (guess !== null) return `Unknown option ${typed}; did you mean ${guess}?`;
  if (elsewhere !== null) return `Unknown option ${typed} for this command (it is an option of ddm ${elsewhere})`;
  return `Unknown option ${typed}`;
}
