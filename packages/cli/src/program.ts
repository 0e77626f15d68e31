import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_DASHBOARD_PORT, dashboardCommand } from './commands/dashboard.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { LS_SORTS, lsCommand } from './commands/ls.js';
import { pruneCommand } from './commands/prune.js';
import { purgeCommand } from './commands/purge.js';
import { statsCommand } from './commands/stats.js';
import { warmCommand } from './commands/warm.js';
import { durationArgument, type GlobalOptions, positiveInteger, STORE_ENV } from './context.js';
import { describeFailure } from './errors.js';

const VERSION = '0.1.0';

function filterOptions(command: Command, { all }: { all: boolean }): Command {
  command
    .option('--namespace <name>', 'only this namespace (default: every namespace)')
    .option('--kind <kind>', "only this kind: 'chat', 'embedding', 'image', 'langchain', …")
    .option('--provider <provider>', "only this provider id, e.g. 'openai.chat'")
    .option('--model <model>', 'only this requested model id')
    .option('--older-than <duration>', "only entries written longer ago than this, e.g. '30d', '12h'", durationArgument)
    .option('--response-model <model>', 'only entries whose provider reported this model id');
  if (all) command.option('--all', 'every llmemo entry in the store (purge needs a filter or this)');
  return command;
}

/** The options every command sees: its own merged with the program's (`--store`, `--json`, …). */
function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** The `llmemo` command line. `run` never exits the process: it resolves the exit code. */
export function createProgram(): Command {
  const program = rootCommand();
  // Registration order is the order `llmemo --help` lists them in.
  addReadingCommands(program);
  addMaintenanceCommands(program);
  addTransferCommands(program);
  addServingCommands(program);
  return program;
}

/** The program itself and its global options. */
function rootCommand(): Command {
  return new Command('llmemo')
    .description('Inspect and maintain llmemo caches (SQLite files, file:// directories and Redis).')
    .version(VERSION)
    .addOption(
      new Option(
        '--store <url>',
        'the cache store: sqlite://path/to/cache.sqlite, file://path/to/dir or redis[s]://[user:pass@]host:port',
      ).env(STORE_ENV),
    )
    .addOption(
      new Option(
        '--encryption-key <key>',
        'key (base64 or hex) to open encrypted values; prefer the LLMEMO_ENCRYPTION_KEY variable (flags show up in ps)',
      ),
    )
    .option('--json', 'machine-readable output')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .showHelpAfterError('(run llmemo --help for usage)')
    .exitOverride();
}

/** stats, ls, inspect: read the store, change nothing. */
function addReadingCommands(program: Command): void {
  program
    .command('stats')
    .description('entries, size, age spread, hit rate and tokens saved, by namespace and model')
    .option('--namespace <name>', 'only this namespace')
    .option('--range <range>', "count only the last '24h', '7d' or '30d' (default: since counting began)")
    .option(
      '--prices <file>',
      'JSON file of prices per 1M tokens by model, e.g. {"gpt-4o-mini":{"input":0.15,"output":0.6}}',
    )
    .action((options, command: Command) => statsCommand(options, globals(command)));

  filterOptions(
    program
      .command('ls')
      .description('list entries (newest first) with their age, expiry, size, labels and key')
      .option(
        '--limit <n>',
        'show the first n entries of the whole store in --sort order (0 = all)',
        positiveInteger('--limit'),
        100,
      )
      .addOption(new Option('--sort <order>', 'newest, oldest or largest first').choices(LS_SORTS).default('newest'))
      .option('--expired', 'include expired entries not yet pruned'),
    { all: false },
  ).action((options, command: Command) => lsCommand(options, globals(command)));

  program
    .command('inspect')
    .description("show one entry's metadata and value (the value of an encrypted entry needs its key)")
    .argument('<key>', 'the key, or its start as `llmemo ls` prints it (…-ended); it must name one entry')
    .action((key: string, _options, command: Command) => inspectCommand(key, globals(command)));
}

/** purge, prune: delete entries. */
function addMaintenanceCommands(program: Command): void {
  filterOptions(
    program
      .command('purge')
      .description('delete the entries that match the filters (asks first unless --yes)')
      .option('--dry-run', 'print what would be deleted, delete nothing')
      .option('-y, --yes', 'do not ask for confirmation'),
    { all: true },
  ).action((options, command: Command) => purgeCommand(options, globals(command)));

  program
    .command('prune')
    .description('delete expired entries (SQLite and file stores keep them until pruned; Redis expires them itself)')
    .option(
      '--unused-since <duration>',
      "instead: delete entries not hit for this long, e.g. '30d' (never hit: not written for this long)",
      durationArgument,
    )
    .option('--namespace <name>', 'with --unused-since: only this namespace (default: every namespace)')
    .action((options, command: Command) => pruneCommand(options, globals(command)));
}

/** export, import: move entries between stores as JSON lines. */
function addTransferCommands(program: Command): void {
  filterOptions(
    program
      .command('export')
      .description('write entries as JSON lines (to migrate between stores); encrypted values stay encrypted')
      .argument('[file]', 'output file (default: stdout)'),
    { all: false },
  ).action((file: string | undefined, options, command: Command) => exportCommand(file, options, globals(command)));

  program
    .command('import')
    .description('read JSON lines written by `llmemo export` into the store, keeping each entry’s expiry')
    .argument('[file]', 'input file (default: stdin)')
    .action((file: string | undefined, _options, command: Command) => importCommand(file, globals(command)));
}

/** dashboard, warm: long-running commands that talk HTTP. */
function addServingCommands(program: Command): void {
  program
    .command('dashboard')
    .description('serve a dashboard of hit rate, savings and entries on 127.0.0.1 (Ctrl-C to stop)')
    .option('--port <n>', 'port on 127.0.0.1 (0 picks a free one)', positiveInteger('--port'), DEFAULT_DASHBOARD_PORT)
    .option('--prices <file>', 'JSON file of prices per 1M tokens by model, as for `llmemo stats`')
    .action((options, command: Command) => dashboardCommand(options, globals(command)));

  program
    .command('warm')
    .description('send the requests of a JSON-lines file through a running llmemo-proxy, so their answers are cached')
    .argument('<requests.jsonl>', 'one OpenAI request per line: a chat, embeddings or image body, or a Batch API line')
    .option('--proxy <url>', 'the running proxy, e.g. http://127.0.0.1:8787/v1')
    .option('--concurrency <n>', 'requests in flight at once', positiveInteger('--concurrency'), 4)
    .option('--api-key <key>', 'the API key your app uses (default: OPENAI_API_KEY); entries land in its namespace')
    .option('--dry-run', 'count the requests already cached; send nothing upstream')
    .action((file: string, options, command: Command) => warmCommand(file, options, globals(command)));
}

/** Runs the CLI; resolves the process exit code. Errors are one line on stderr that says what to do. */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  program.configureOutput({
    outputError: (text, write) => write(`llmemo: ${text.replace(/^error: /, '')}`),
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 0;
      // Commander already printed its one-line message; a usage error.
      return 2;
    }
    const { message, exitCode } = describeFailure(error);
    process.stderr.write(`llmemo: ${message}\n`);
    return exitCode;
  }
}
