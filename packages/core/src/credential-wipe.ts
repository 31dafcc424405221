/**
 * Credential lifetime in the job DB. A job's secrets (headers that `isSecretHeaderName` calls
 * secret, remembered cookies, userinfo and signed parameters in its URLs) are stored only while
 * the job may still need them: a queued, paused, failed or canceled job can resume in a later
 * process. Once it completes, or is removed, they are wiped from its row; the DB runs with
 * `PRAGMA secure_delete = ON` (see `openDb`), so freed bytes are zeroed, and a checkpoint that
 * truncates the WAL takes the old page images out of the `-wal` file too.
 */
import type { JobSettings, Repos } from '@ddm/db';
import { isSecretHeaderName, redactText, redactUrl } from './redact.ts';

/** `settings` without credentials: secret headers, remembered cookies, secrets in the original URL. */
export function settingsWithoutSecrets(settings: JobSettings): JobSettings {
  const { cookies: _cookies, needsCookies: _needsCookies, ...rest } = settings;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers ?? {})) {
    if (!isSecretHeaderName(name)) headers[name] = value;
  }
  return {
    ...rest,
    ...(settings.headers ? { headers } : {}),
    ...(settings.originalUrl ? { originalUrl: redactUrl(settings.originalUrl) } : {}),
  };
}

/**
 * Wipes the credentials of a finished job from its row (see the module comment) and flushes the
 * freed bytes out of the WAL. A job that no longer exists is left alone. Never throws for the
 * flush: a reader holding an old snapshot only delays it to the next checkpoint.
 */
export function wipeJobCredentials(repos: Repos, jobId: number): void {
  const job = repos.jobs.get(jobId);
  if (!job) return;
  repos.jobs.update(jobId, {
    url: redactUrl(job.url),
    finalUrl: job.finalUrl === null ? null : redactUrl(job.finalUrl),
    settings: settingsWithoutSecrets(job.settings),
    errorMessage: job.errorMessage === null ? null : redactText(job.errorMessage),
    why: job.why === null ? null : redactText(job.why),
  });
  flushFreedBytes(repos);
}

/**
 * Checkpoints the WAL into the DB and truncates it, so bytes freed (and zeroed by
 * `secure_delete`) are not still readable in older frames of the `-wal` file. Best effort: it
 * cannot complete while another connection reads an older snapshot or inside a transaction.
 */
export function flushFreedBytes(repos: Repos): void {
  try {
    repos.db.run('PRAGMA wal_checkpoint(TRUNCATE)');
  } catch {
    // Busy or inside a transaction: the next checkpoint (or the last connection's close) does it.
  }
}
