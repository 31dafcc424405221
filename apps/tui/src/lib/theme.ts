/**
 * Colours and styles. Named colours only (readable in 16-colour terminals), and none at all, not
 * even bold or inverse, when colour is off (`NO_COLOR`): every style goes through {@link tint}.
 */
import type { JobState } from '@ddm/core';

export type NamedColor = 'green' | 'yellow' | 'red' | 'cyan' | 'magenta' | 'gray' | 'blue' | 'white';

export interface Tint {
  readonly color?: NamedColor;
  readonly bold?: boolean;
  readonly inverse?: boolean;
  readonly dimColor?: boolean;
}

/** Style props for `<Text>`, or none when colour is off. */
export function tint(isColor: boolean, style: Tint): Tint {
  return isColor ? style : {};
}

/**
 * True unless `NO_COLOR` is set to a non-empty value (https://no-color.org).
 */
export function isColorEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const noColor = env.NO_COLOR;
  return noColor === undefined || noColor === '';
}

const STATE_COLORS: Readonly<Record<JobState, NamedColor>> = {
  queued: 'gray',
  probing: 'cyan',
  downloading: 'cyan',
  paused: 'yellow',
  verifying: 'magenta',
  completed: 'green',
  failed: 'red',
  canceled: 'gray',
};

export function stateColor(state: JobState): NamedColor {
  return STATE_COLORS[state];
}
