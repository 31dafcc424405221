/**
 * aria2 GIDs for ddm jobs: the job id as 16 hex digits. Job ids come from SQLite AUTOINCREMENT,
 * so a GID is never reused for another job, even after its job is removed.
 */

const GID_PATTERN = /^[0-9a-fA-F]{16}$/;

export function gidOf(jobId: number): string {
  return jobId.toString(16).padStart(16, '0');
}

/** The job id of a GID, or null when the text is not a GID of a possible job. */
export function jobIdOf(gid: string): number | null {
  if (!GID_PATTERN.test(gid)) return null;
  const id = Number.parseInt(gid, 16);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
