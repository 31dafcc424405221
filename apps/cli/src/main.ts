#!/usr/bin/env bun
/**
 * ddm: the one entry point (and the one `bun build --compile` entry). Parses the command line
 * with cac, runs a command, and is the only place that turns errors into exit codes and text.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DbError,
  DDM_VERSION,
  DdmError,
  openJobStore,
  parseRate,
  redactText,
  resolvePaths,
  toDbError,
} from '@ddm/core';
import { cac } from 'cac';
import { type DbAccess, openContext } from './context.ts';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes.ts';
import { asList, parseIntFlag, rewriteDeprecatedConnections, spellStdinInputFile } from './job-options.ts';
import { createOutput, drainOutput, type Output } from './output.ts';
import { type FlagSpec, firstUnknownFlag, flagSpecOf, nearest, unknownFlagMessage } from './suggest.ts';

/** From the root package.json (core/src/version.ts), the one place the version is written. */
export const VERSION = DDM_VERSION;

/** `ddm -V`: ddm's version and the Bun that runs it (`process.version` is Bun's Node-compatible one). */
export function versionText(): string {
  return `ddm ${VERSION} (bun ${Bun.version})`;
}

// biome-ignore lint/suspicious/noExplicitAny: cac hands over untyped flag bags; each command validates its own.
type Flags = Record<string, any>;

function configFlagsFrom(flags: Flags) {
  const cf: Record<string, unknown> = {};
  if (flags.jobs !== undefined) cf.jobs = Number(flags.jobs);
  if (flags.proxy !== undefined) cf.proxy = String(flags.proxy);
  if (flags.limit !== undefined && flags.isGlobalLimit) cf.maxBytesPerSec = parseRate(String(flags.limit)) ?? 0;
  if (flags.maxPerHost !== undefined) cf.maxConnectionsPerHost = Number(flags.maxPerHost);
  if (flags.userAgent !== undefined) cf.userAgent = String(flags.userAgent);
  const retry: Record<string, unknown> = {};
  if (flags.maxTries !== undefined) retry.attempts = parseIntFlag('--max-tries', flags.maxTries, 1, 101) - 1;
  if (Object.keys(retry).length > 0) cf.retry = retry;
  if (flags.timeout !== undefined) {
    cf.timeouts = { connectMs: Math.round(Number(flags.timeout) * 1000) };
  }
  const tls: Record<string, unknown> = {};
  if (flags.cacert !== undefined) tls.caFile = resolve(String(flags.cacert));
  if (flags.capath !== undefined) tls.caPath = resolve(String(flags.capath));
  if (flags.insecure) tls.verify = 'off';
  if (Object.keys(tls).length > 0) cf.tls = tls;
  return cf;
}

async function withContext(
  flags: Flags,
  fn: (ctx: ReturnType<typeof openContext>, out: Output) => Promise<ExitCode>,
  access: DbAccess = 'write',
): Promise<ExitCode> {
  // mri turns `--proxy ''` into 0; an empty proxy means "no proxy, even if HTTP_PROXY is set".
  if (flags.proxy !== undefined) flags.proxy = flags.proxy === 0 ? '' : String(flags.proxy);
  const out = createOutput(flags);
  if (flags.timeout !== undefined && !(Number(flags.timeout) > 0)) {
    throw new DdmError(`--timeout must be a number of seconds above 0: ${flags.timeout}`, { code: 'ERR_USAGE' });
  }
  const ctx = openContext(flags, configFlagsFrom(flags), access);
  // Every run that skips certificate checks says so, even with --quiet (curl and wget do not).
  if (ctx.settings.isTlsInsecure) {
    process.stderr.write('ddm: warning: TLS certificates are not verified (-k/--insecure or tls.verify = "off")\n');
  }
  try {
    return await fn(ctx, out);
  } finally {
    ctx.close();
  }
}

const JOB_OPTIONS: [string, string][] = [
  ['-d, --dir <dir>', 'Directory to save into (default: download_dir, else the current directory)'],
  ['-o, --output <name>', 'File name (default: from Content-Disposition or the URL)'],
  ['-x, --connections <n>', 'Connections for this job (default: config "connections", 8); aria2c -x'],
  ['-H, --header <header>', 'Extra request header "Name: value" (repeatable)'],
  ['--checksum <algo:hex>', 'Verify after download: sha256:<hex>, sha1, sha512 or md5'],
  ['--limit <rate>', 'Speed limit for this job, e.g. 2M or 500K'],
  ['--priority <n>', 'Higher runs first (default 0)'],
  ['--overwrite', 'Replace an existing file instead of saving as "name (1).ext"'],
];

const LIST_OPTIONS: [string, string][] = [
  [
    '-c, --continue',
    'Continue a partial file another tool left at the target (curl, wget), after checking its bytes against the server',
  ],
  [
    '-i, --input-file <file>',
    'Read URLs from a file ("-" = stdin): one per line, # comments, indented dir=, out=, header=, checksum= lines (aria2 format); tab-separated URLs on one line are mirrors of one file',
  ],
  [
    '--mirrors',
    'The URLs given are mirrors of ONE file: download it from all of them at once (each checked to serve the same size first)',
  ],
  ['--mirror <url>', 'Another URL of the same file, downloaded from together with the first (repeatable)'],
];

export function buildCli(setExit: (code: ExitCode) => void) {
  const cli = cac('ddm');
  cli.option('--json', 'Machine-readable output');
  cli.option('-q, --quiet', 'Print only results and errors');
  cli.option('-v, --verbose', 'Log at debug level (-v is only ever verbose; the version is -V)');
  cli.option('--proxy <url>', 'Proxy for HTTP(S) requests ("" disables HTTP_PROXY/HTTPS_PROXY)');
  cli.option('--netrc-file <file>', 'Credentials file (default ~/.netrc)');
  cli.option('--cacert <file>', 'Also trust the CA certificates in this PEM file (config tls.ca_file)');
  cli.option('--capath <dir>', 'Also trust the PEM certificates in this directory (config tls.ca_path)');
  cli.option('-k, --insecure', 'Do not verify TLS certificates (warned on every run; config tls.verify = "off")');
  cli.option('--max-tries <n>', 'Tries per request, the first included (config retry.attempts + 1)');
  cli.option('--timeout <seconds>', 'Time to connect and get the response headers (config timeouts.connect_ms)');
  cli.option('-U, --user-agent <text>', 'User-Agent header (config user_agent)');

  const run = (p: Promise<ExitCode>) => p.then(setExit);

  const get = cli.command(
    'get [...urls]',
    'Download URLs now, in the foreground; exit 0 only when complete and verified. The same command again continues an interrupted download',
  );
  for (const [f, d] of JOB_OPTIONS) get.option(f, d);
  for (const [f, d] of LIST_OPTIONS) get.option(f, d);
  get
    .option('--remember-cookies', 'Store a -H Cookie in the job DB so `ddm run` can resume an interrupted get')
    .example('ddm get https://example.com/big.iso -x 16 -d ~/Downloads')
    .example('ddm get https://example.com/a.zip --checksum sha256:9f86d0...')
    .example('ddm get -c https://example.com/big.iso   # continue the big.iso curl or wget left')
    .example('ddm get -i urls.txt')
    .example('ddm get https://a.example/x.iso --mirror https://b.example/x.iso   # one file from both')
    .action((urls: string[], flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/get.ts')).getCommand(ctx, out, asList(urls), flags),
        ),
      ),
    );

  const add = cli.command('add [...urls]', 'Queue downloads and print their job ids (run them with ddm run)');
  for (const [f, d] of JOB_OPTIONS) add.option(f, d);
  for (const [f, d] of LIST_OPTIONS) add.option(f, d);
  add
    .option('--curl <command>', 'Add the request of a browser "Copy as cURL" command (bash or cmd quoting)')
    .option('--allow-cookies', 'Send the cookies of a --curl command (scoped to their domain)')
    .option('--remember-cookies', 'Store those cookies (and a -H Cookie) in the job DB so `ddm run` can use them')
    .example('ddm add https://example.com/a.iso https://example.com/b.iso --priority 5')
    .example('ddm add https://example.com/a.iso --json   # {"ids":[1]}')
    .example('ddm add https://a.example/x.iso https://b.example/x.iso --mirrors   # one file, two mirrors')
    .action((urls: string[], flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/add.ts')).addCommand(ctx, out, asList(urls), flags),
        ),
      ),
    );

  cli
    .command('run', 'Run queued and interrupted jobs until none is left; a failed job sets the exit code')
    .option('--watch', 'Stay up and pick up jobs queued later (daemon mode)')
    .option('--jobs <n>', 'Jobs downloading at once (config "jobs", 3)')
    .option('--limit <rate>', 'Global speed limit, e.g. 10M (config "max_bytes_per_sec")')
    .option('--max-per-host <n>', 'Connections per host across all jobs (config "max_connections_per_host")')
    .example('ddm run --jobs 4 --limit 10M')
    .example('ddm run --watch &   # then: ddm add <url>')
    .action((flags: Flags) =>
      run(
        withContext({ ...flags, isGlobalLimit: true }, async (ctx, out) =>
          (await import('./commands/run.ts')).runCommand(ctx, out, flags),
        ),
      ),
    );

  cli
    .command('serve', "Run the engine and answer aria2's JSON-RPC on /jsonrpc (AriaNg, browser extensions)")
    .option('--rpc-listen-port <port>', 'Port (config "rpc.port", 6800; 0 = any free port)')
    .option('--rpc-secret <secret>', 'Secret every call must send as "token:SECRET" (config "rpc.secret")')
    .option('--rpc-listen-all', 'Listen on all interfaces, not only 127.0.0.1 and [::1] (needs a secret)')
    .option('--rpc-allow-origin-all', 'Let any web page call the RPC (CORS *), as aria2')
    .option('-d, --dir <dir>', 'Default directory of RPC downloads (default: download_dir, else the current one)')
    .option('-j, --max-concurrent-downloads <n>', 'Jobs downloading at once (config "jobs", 3)')
    .option('--limit <rate>', 'Global speed limit, e.g. 10M (config "max_bytes_per_sec")')
    .example('ddm serve --rpc-secret "$(openssl rand -hex 16)"')
    .example('ddm serve --rpc-listen-port 6800 -d ~/Downloads')
    .action((flags: Flags) =>
      run(
        withContext({ ...flags, jobs: flags.maxConcurrentDownloads, isGlobalLimit: true }, async (ctx, out) =>
          (await import('./commands/serve.ts')).serveCommand(ctx, out, flags, VERSION),
        ),
      ),
    );

  cli
    .command(
      'status [id]',
      'Show jobs: state, size, done, rate, ETA, connections, file, error; with an id, why and recent events',
    )
    .example('ddm status')
    .example('ddm status 3 --json')
    .action((id: string | undefined, flags: Flags) =>
      run(
        withContext(
          flags,
          async (ctx, out) => (await import('./commands/status.ts')).statusCommand(ctx, out, id),
          'read',
        ),
      ),
    );

  for (const kind of ['pause', 'resume'] as const) {
    cli
      .command(
        `${kind} [...ids]`,
        kind === 'pause'
          ? 'Pause a job (or --all): stops its traffic within a second, keeps its progress'
          : 'Resume a paused, failed or canceled job (or --all) from its checkpoint',
      )
      .option('--all', 'Every job')
      .example(`ddm ${kind} 3`)
      .example(`ddm ${kind} 3 5-7`)
      .example(`ddm ${kind} --all`)
      .action((ids: string[], flags: Flags) =>
        run(
          withContext(flags, async (ctx, out) =>
            (await import('./commands/control.ts')).controlCommand(ctx, out, kind, asList(ids), flags),
          ),
        ),
      );
  }
  cli
    .command(
      'cancel [...ids]',
      'Cancel jobs (ids and ranges like 3-7); their .part files stay until ddm remove --delete-files',
    )
    .example('ddm cancel 3 5-7')
    .action((ids: string[], flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/control.ts')).controlCommand(ctx, out, 'cancel', asList(ids), {}),
        ),
      ),
    );
  cli
    .command('remove [...ids]', 'Remove jobs (ids and ranges like 3-7) from the list, stopping them first')
    .option('--delete-files', 'Also delete the files these jobs created (.part, or the finished file)')
    .example('ddm remove 3 --delete-files')
    .example('ddm remove 3-7 9')
    .action((ids: string[], flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/control.ts')).removeCommand(ctx, out, asList(ids), flags),
        ),
      ),
    );
  cli
    .command('clear', 'Forget finished jobs (completed unless told otherwise); their files stay')
    .option('--completed', 'Completed jobs (the default)')
    .option('--failed', 'Failed jobs')
    .option('--all', 'Completed, failed and canceled jobs')
    .example('ddm clear')
    .example('ddm clear --failed')
    .action((flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) => (await import('./commands/control.ts')).clearCommand(ctx, out, flags)),
      ),
    );
  cli
    .command(
      'limit [...args]',
      'Set a speed limit while running: ddm limit <id> <rate|off> or ddm limit --global <rate|off>',
    )
    .option('--global', 'The global limit of the running engine')
    .example('ddm limit 3 2M')
    .example('ddm limit --global off')
    .action((args: string[], flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/control.ts')).limitCommand(ctx, out, args, flags),
        ),
      ),
    );
  cli
    .command('move <id>', 'Move a job to the top or bottom of the queue (within its priority)')
    .option('--top', 'Run it next')
    .option('--bottom', 'Run it last')
    .example('ddm move 7 --top')
    .action((id: string, flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/control.ts')).moveCommand(ctx, out, id, flags),
        ),
      ),
    );
  cli
    .command('wait [...ids]', 'Block until these jobs end; exit with their outcome (0 when all completed)')
    .example('ddm wait $(ddm add https://example.com/a.iso)')
    .action((ids: string[], flags: Flags) =>
      run(withContext(flags, async (ctx, out) => (await import('./commands/wait.ts')).waitCommand(ctx, out, ids))),
    );
  cli
    .command('tui', 'Full-screen dashboard with a live segment heatmap; attaches to a running engine')
    .example('ddm tui')
    .action((flags: Flags) =>
      run(withContext(flags, async (ctx, out) => (await import('./commands/tui.ts')).tuiCommand(ctx, out))),
    );
  cli
    .command(
      'demo',
      'Download synthetic files from built-in local servers (no internet needed): splitting, a retry and a pause in about 25 s',
    )
    .option('--headless', 'Print progress lines instead of opening the dashboard')
    .option('--quick', 'The same scenario in a few seconds (for tests and CI)')
    .option('-d, --dir <dir>', 'Keep the downloaded files in this directory (default: a temp dir, deleted on exit)')
    .example('ddm demo --headless')
    .example('ddm demo --headless --quick')
    .action((flags: Flags) =>
      run(withContext(flags, async (ctx, out) => (await import('./commands/demo.ts')).demoCommand(ctx, out, flags))),
    );
  const importHar = cli
    .command(
      'import-har <file>',
      "Queue the download found in a browser's HAR export, with its headers (and cookies if allowed)",
    )
    .option('--list', 'List the entries and their scores instead of importing')
    .option('--pick <n>', 'Import entry number n (see --list)')
    .option('--match <text>', 'Import the best entry whose URL contains text')
    .option('--allow-cookies', 'Send the captured cookies (scoped to their domain and path)')
    .option('--remember-cookies', 'Store those cookies in the job DB so a later process can resume')
    .option('--start', 'Download now, in the foreground (like ddm get)');
  for (const [f, d] of JOB_OPTIONS) if (!f.startsWith('-H')) importHar.option(f, d);
  importHar
    .example('ddm import-har ~/Downloads/site.har --list')
    .example('ddm import-har site.har --match .iso --allow-cookies --start')
    .action((file: string, flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/import-har.ts')).importHarCommand(ctx, out, file, flags),
        ),
      ),
    );
  cli
    .command('refresh <id>', 'Give a job a new URL or HAR request for the same file; finished segments are kept')
    .option('--url <url>', 'The new URL')
    .option('--har <file>', 'A new HAR export to take the request from')
    .option('--pick <n>', 'HAR entry number')
    .option('--match <text>', 'HAR entry whose URL contains text')
    .option('--allow-cookies', 'Send the captured cookies')
    .option('--remember-cookies', 'Store those cookies in the job DB')
    .example('ddm refresh 4 --url "https://cdn.example.com/file.iso?sig=new"')
    .example('ddm refresh 4 --har fresh.har --allow-cookies')
    .action((id: string, flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/refresh.ts')).refreshCommand(ctx, out, id, flags),
        ),
      ),
    );
  cli
    .command('bench <url>', 'Measure 1, 2, 4, 8, 16 connections against a host; later jobs to it use the best count')
    .option('--max <n>', 'Most connections to try (default 16)')
    .example('ddm bench https://mirror.example.com/big.iso --max 16')
    .action((url: string, flags: Flags) =>
      run(
        withContext(flags, async (ctx, out) =>
          (await import('./commands/bench.ts')).benchCommand(ctx, out, url, flags),
        ),
      ),
    );
  cli
    .command(
      'checksum [...files]',
      'Print file hashes as sha256sum does, or check them (-c SHA256SUMS; exit 4 on a mismatch)',
    )
    .option('--algo <algo>', 'sha256 (default), sha1, sha512 or md5')
    .option('-c, --check <file>', 'Check the files a sha256sum-style list names')
    .example('ddm checksum ubuntu.iso debian.iso > SHA256SUMS')
    .example('ddm checksum -c SHA256SUMS')
    .action((files: string[], flags: Flags) =>
      run(import('./commands/checksum.ts').then((m) => m.checksumCommand(createOutput(flags), asList(files), flags))),
    );
  cli
    .command(
      'config [action] [...args]',
      'Read or write the config file: ddm config path | show | get <key> | init | set <key> <value>',
    )
    .option('--force', 'config init: replace an existing file with the commented defaults')
    .example('ddm config show')
    .example('ddm config get connections')
    .example('ddm config set connections 16')
    .example('ddm config init   # once; again says the file exists (--force replaces it)')
    .action((action: string | undefined, args: string[], flags: Flags) =>
      run(import('./commands/config.ts').then((m) => m.configCommand(createOutput(flags), action, args ?? [], flags))),
    );
  cli
    .command(
      'completion <shell>',
      'Print a shell completion script (bash, zsh or fish): commands, flags, job ids, config keys',
    )
    .example('ddm completion bash > ~/.local/share/bash-completion/completions/ddm')
    .example('ddm completion zsh > ~/.zfunc/_ddm   # with fpath+=(~/.zfunc) in ~/.zshrc')
    .example('ddm completion fish > ~/.config/fish/completions/ddm.fish')
    .action((shell: string, flags: Flags) =>
      run(
        import('./commands/completion.ts').then((m) =>
          m.completionCommand(
            createOutput(flags),
            shell,
            cli.commands.map((c) => ({ name: c.name, flags: flagsOf(c.options).flatMap((f) => f.names) })),
            flagsOf(cli.globalCommand.options).flatMap((f) => f.names),
          ),
        ),
      ),
    );

  cli
    .command('help [command]', 'Show the help of ddm or of one command')
    .example('ddm help get')
    .action(() => cli.outputHelp());

  cli.option('-V, --version', 'Print the version of ddm and of Bun');
  // Each command's help starts with what it does; the global one with the version.
  cli.help((sections) => {
    const command = cli.matchedCommand;
    const head = command
      ? `ddm ${command.name}: ${command.description}`
      : `ddm ${VERSION}: a segmented HTTP download manager`;
    return [{ body: head }, ...sections.slice(1)];
  });
  // main() prints the help itself, after checking the flags (cac would print it while parsing).
  cli.showHelpOnExit = false;
  return cli;
}

/** Prints the one-line error (stack only with DDM_DEBUG=1) and returns its exit code. */
export function reportError(thrown: unknown, isJson: boolean): ExitCode {
  // A SQLite failure that escaped the db layer (a plain read) is still told by its result code.
  const error = toDbError(thrown, dbPathForMessages());
  const isDebug = process.env.DDM_DEBUG === '1';
  const isCac = error instanceof Error && error.name === 'CACError';
  const code =
    error instanceof DdmError || error instanceof DbError ? error.code : isCac ? 'ERR_USAGE' : 'ERR_INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const out = createOutput({ json: isJson });
  if (isJson) process.stdout.write(`${JSON.stringify({ error: { code, message: redactText(message) } })}\n`);
  out.error(isCac ? `${message} (see ddm --help)` : message);
  if (isDebug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  if (error instanceof DdmError || error instanceof DbError) return exitCodeFor(error.code);
  if (isCac) return EXIT.usage;
  if (!isDebug) process.stderr.write('ddm: this is a bug; run again with DDM_DEBUG=1 for details\n');
  return EXIT.jobFailed;
}

function dbPathForMessages(): string {
  try {
    return resolvePaths(process.env).dbFile;
  } catch {
    return 'the job DB';
  }
}

type Cli = ReturnType<typeof buildCli>;

function flagsOf(options: readonly { rawName: string }[]): FlagSpec[] {
  return options.map((option) => flagSpecOf(option.rawName));
}

/**
 * `ddm help [command]` as `ddm [command] --help`.
 * @throws DdmError ERR_USAGE for an unknown command, with the nearest one.
 */
function spellHelpCommand(argv: readonly string[], cli: Cli): string[] {
  if (argv[2] !== 'help' || argv.includes('--help') || argv.includes('-h')) return [...argv];
  const name = argv[3];
  if (name === undefined || name.startsWith('-')) return [...argv.slice(0, 2), '--help', ...argv.slice(3)];
  if (!cli.commands.some((command) => command.name === name)) throw unknownCommand(name, cli);
  return [...argv.slice(0, 2), name, '--help', ...argv.slice(4)];
}

function unknownCommand(name: string, cli: Cli): DdmError {
  const guess = nearest(
    name,
    cli.commands.map((command) => command.name),
  );
  const hint = guess === null ? ' (see ddm --help)' : `; did you mean "${guess}"?`;
  return new DdmError(`Unknown command "${name}"${hint}`, { code: 'ERR_USAGE' });
}

/**
 * Every flag must be one the command (or ddm itself) knows: cac's own check names it in
 * camelCase (`--inputFile`); this one echoes it as typed and suggests the nearest flag.
 * @throws DdmError ERR_USAGE.
 */
function checkFlags(args: readonly string[], cli: Cli): void {
  const global = flagsOf(cli.globalCommand.options);
  const command = cli.matchedCommand;
  const known = command ? [...flagsOf(command.options), ...global] : global;
  const typed = firstUnknownFlag(args, known);
  if (typed === null) return;
  const owner = cli.commands.find((other) =>
    flagsOf(other.options).some((flag) => flag.names.includes(typed) && other !== command),
  );
  throw new DdmError(unknownFlagMessage(typed, known, owner?.name ?? null), { code: 'ERR_USAGE' });
}

/**
 * `ddm __complete ids` (hidden; the completion scripts call it on Tab): the job ids, one a line.
 * Cheap and silent: no DB yet means no ids, and it never creates a folder or prints an error.
 */
function completeWords(kind: string | undefined): ExitCode {
  if (kind !== 'ids') return EXIT.usage;
  try {
    const { dbFile } = resolvePaths(process.env);
    if (!existsSync(dbFile)) return EXIT.ok;
    const store = openJobStore(dbFile, 'read');
    try {
      const ids = store.jobs().map((job) => job.id);
      if (ids.length > 0) process.stdout.write(`${ids.join('\n')}\n`);
    } finally {
      store.close();
    }
  } catch {}
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<ExitCode> {
  if (argv[2] === '__complete') return completeWords(argv[3]);
  let exitCode: ExitCode = EXIT.ok;
  const isJson = argv.includes('--json');
  try {
    const cli = buildCli((code) => {
      exitCode = code;
    });
    const rewritten = rewriteDeprecatedConnections(argv);
    if (rewritten.note) process.stderr.write(`${rewritten.note}\n`);
    const words = spellHelpCommand(spellStdinInputFile(rewritten.argv), cli);
    cli.parse(words, { run: false });
    checkFlags(words.slice(2), cli);
    if (cli.options.help) {
      cli.outputHelp();
      return EXIT.ok;
    }
    if (cli.options.version) {
      process.stdout.write(`${versionText()}\n`);
      return EXIT.ok;
    }
    if (!cli.matchedCommand) {
      const name = cli.args[0];
      if (name !== undefined) throw unknownCommand(String(name), cli);
      cli.outputHelp();
      return EXIT.ok;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    return reportError(error, isJson);
  }
  return exitCode;
}

// No top-level await: `bun build --compile --bytecode` only takes CommonJS-compatible entries.
if (import.meta.main) {
  void main(process.argv)
    .then(async (code) => {
      await drainOutput();
      process.exit(code);
    })
    .catch((error: unknown) => {
      process.stderr.write(`ddm: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT.jobFailed);
    });
}
