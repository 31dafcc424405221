/**
 * nginx serving the data dir on 127.0.0.1: a minimal config written into the temp dir (no
 * daemon, pid and logs in the temp dir, sendfile, no access log), started as our child and
 * stopped at the end.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

export interface Nginx extends AsyncDisposable {
  readonly origin: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (nginx binds it right after). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export function nginxConfig(options: { prefix: string; root: string; port: number }): string {
  const { prefix, root, port } = options;
  return `# Written by scripts/bench (ddm); lives in a temp dir and is deleted after the run.
daemon off;
worker_processes auto;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

/**
 * Starts nginx and waits until it answers.
 * @throws Error with nginx's stderr when it exits or does not answer within 10 s.
 */
export async function startNginx(options: { prefix: string; root: string; probePath: string }): Promise<Nginx> {
  mkdirSync(join(options.prefix, 'tmp'), { recursive: true });
  const port = freePort();
  const conf = join(options.prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ prefix: options.prefix, root: options.root, port }));
  const proc: Subprocess<'ignore', 'ignore', 'pipe'> = Bun.spawn(
    ['nginx', '-p', options.prefix, '-e', join(options.prefix, 'error.log'), '-c', conf],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  );
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const stderr = await new Response(proc.stderr).text();
      throw new Error(`nginx exited with ${proc.exitCode}: ${stderr.trim()}`);
    }
    try {
      const r = await fetch(`${origin}${options.probePath}`, { method: 'HEAD' });
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      // SIGTERM, not SIGKILL: the master takes its workers down with it.
      proc.kill('SIGTERM');
      await proc.exited;
      const errors = existsSync(join(options.prefix, 'error.log'))
        ? readFileSync(join(options.prefix, 'error.log'), 'utf8').trim().split('\n').slice(-3).join('\n')
        : '';
      throw new Error(`nginx did not answer on ${origin} within 10 s${errors ? `: ${errors}` : ''}`);
    }
    await Bun.sleep(50);
  }
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  return { origin, port, stop, [Symbol.asyncDispose]: stop };
}
