/** Reads the fixtures beside this file; tests only (the package itself does no I/O). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURE_ORIGIN = 'http://127.0.0.1:8080';

export function fixture(name: string): string {
  return readFileSync(join(import.meta.dir, 'fixtures', name), 'utf8');
}
