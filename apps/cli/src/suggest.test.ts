import { describe, expect, test } from 'bun:test';
import { editDistance, firstUnknownFlag, flagSpecOf, nearest, unknownFlagMessage } from './suggest.ts';

test('editDistance counts a swap of two neighbours as one edit', () => {
  expect(editDistance('gte', 'get')).toBe(1);
  expect(editDistance('connectons', 'connections')).toBe(1);
  expect(editDistance('', 'abc')).toBe(3);
  expect(editDistance('same', 'same')).toBe(0);
});

test('nearest suggests only what is near enough to be a typo', () => {
  const commands = ['get', 'add', 'run', 'status', 'pause', 'resume', 'config'];
  expect(nearest('gte', commands)).toBe('get');
  expect(nearest('stauts', commands)).toBe('status');
  expect(nearest('RESUM', commands)).toBe('resume');
  expect(nearest('fetch', commands)).toBeNull();
  expect(nearest('get', commands)).toBeNull();
});

describe('firstUnknownFlag', () => {
  const flags = ['-x, --connections <n>', '-o, --output <name>', '--overwrite', '-q, --quiet', '-c, --continue'].map(
    flagSpecOf,
  );

  test('names the flag as typed, in kebab-case, with or without a value', () => {
    expect(firstUnknownFlag(['get', 'u', '--connectons', '4'], flags)).toBe('--connectons');
    expect(firstUnknownFlag(['get', '--input-fil=x'], flags)).toBe('--input-fil');
    expect(firstUnknownFlag(['get', '-qZ'], flags)).toBe('-Z');
  });

  test('known flags, their values, a lone "-", negative numbers and words after "--" pass', () => {
    expect(firstUnknownFlag(['get', '-x', '4', '--output', '--weird', 'u'], flags)).toBe('--weird');
    expect(firstUnknownFlag(['get', '-o', 'name', '-qc', '--overwrite', '-', 'u'], flags)).toBeNull();
    expect(firstUnknownFlag(['get', '--connections=4', '-x', '-5'], flags)).toBeNull();
    expect(firstUnknownFlag(['get', '--', '--not-a-flag'], flags)).toBeNull();
  });

  test('the message suggests the nearest flag, or the command that has it', () => {
    expect(unknownFlagMessage('--connectons', flags, null)).toBe(
      'Unknown option --connectons; did you mean --connections?',
    );
    expect(unknownFlagMessage('-X', flags, null)).toBe('Unknown option -X; did you mean -x?');
    expect(unknownFlagMessage('--watch', flags, 'run')).toBe(
      'Unknown option --watch for this command (it is an option of ddm run)',
    );
    expect(unknownFlagMessage('--zzzzzz', flags, null)).toBe('Unknown option --zzzzzz');
  });
});
