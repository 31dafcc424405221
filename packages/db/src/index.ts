import type { Database } from 'bun:sqlite';
import { CommandsRepo, EngineLockRepo, EventsRepo, HostsRepo, LiveRepo } from './control-repo.ts';
import { JobsRepo } from './jobs-repo.ts';
import { SegmentsRepo } from './segments-repo.ts';

export type { Database } from 'bun:sqlite';
export * from './control-repo.ts';
export { DbError, type DbErrorCode, isBusyError, sqliteCodeOf, toDbError } from './errors.ts';
export * from './jobs-repo.ts';
export { LATEST_VERSION, type Migration, migrate, migrations, readSchemaVersion, schemaVersion } from './migrate.ts';
export { dataVersion, type OpenDbOptions, openDb } from './open.ts';
export * from './segments-repo.ts';
export { DdmDatabase, read, write } from './write.ts';

/** Every repository over one connection. */
export interface Repos {
  db: Database;
  jobs: JobsRepo;
  segments: SegmentsRepo;
  commands: CommandsRepo;
  lock: EngineLockRepo;
  events: EventsRepo;
  live: LiveRepo;
  hosts: HostsRepo;
}

export function reposFor(db: Database): Repos {
  return {
    db,
    jobs: new JobsRepo(db),
    segments: new SegmentsRepo(db),
    commands: new CommandsRepo(db),
    lock: new EngineLockRepo(db),
    events: new EventsRepo(db),
    live: new LiveRepo(db),
    hosts: new HostsRepo(db),
  };
}
