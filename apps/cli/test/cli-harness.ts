/** Spawns the real CLI (source or compiled binary) with its own DDM_HOME, for CLI tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAIN = join(import.meta.dir, '..', 'src', 'main.ts');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliHome extends Disposable {
  home: string;
  dir: string;
  run(args: string[], options?: { env?: Record<string, string>; binary?: string; cwd?: string }): Promise<CliResult>;
  spawn(args: string[], options?: { env?: Record<string, string> }): ReturnType<typeof Bun.spawn>;
}

/** A temp DDM_HOME plus a download dir, removed on dispose. */
export function cliHome(): CliHome {
  const root = mkdtempSync(join(tmpdir(), 'ddm-cli-'));
  const home = join(root, 'home');
  const dir = join(root, 'out');
  const envFor = (extra?: Record<string, string>) => ({
    ...process.env,
    DDM_HOME: home,
    NO_COLOR: '1',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    ...extra,
  });
  const command = (args: string[], binary?: string) => (binary ? [binary, ...args] : ['bun', MAIN, ...args]);
  return {
    home,
    dir,
    async run(args, options = {}) {
      const proc = Bun.spawn(command(args, options.binary), {
        env: envFor(options.env),
        cwd: options.cwd ?? root,
        stdout: 'pipe',
        stderr: 'pipe',
        stdin: 'ignore',
      });
      const [stdout, stderr, exitCode] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      return { exitCode, stdout, stderr };
    },
    spawn(args, options = {}) {
      return Bun.spawn(command(args), {
        env: envFor(options.env),
        cwd: root,
        stdout: 'pipe',
        stderr: 'pipe',
        stdin: 'ignore',
      });
    },
    [Symbol.dispose]() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}
