import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import * as datasets from './commands/datasets.js';
import { exportFormats, exportHistory } from './commands/export.js';
import * as jobs from './commands/jobs.js';
import * as keys from './commands/keys.js';
import { compare, runs } from './commands/runs.js';
import * as sweeps from './commands/sweeps.js';
import { createContext, defaultUrl, type Context, type GlobalOptions } from './context.js';
import { exitCodes } from './exit-codes.js';
import { report } from './failures.js';
import { createOutput } from './output.js';
import { fileOf } from './refusals.js';

/** Runs a command's action with the context of the global options; its failure becomes the exit code. */
function action<Args extends unknown[]>(body: (context: Context, ...args: Args) => Promise<void>) {
  return async function (this: Command, ...args: unknown[]): Promise<void> {
    const globals = this.optsWithGlobals<GlobalOptions & { key?: string }>();
    const context = createContext({
      url: globals.url,
      json: globals.json,
      // The key is read from the environment here rather than given commander as a default, which --help would print.
      ...((globals.key ?? process.env.TRAINER_API_KEY) ? { key: globals.key ?? process.env.TRAINER_API_KEY } : {}),
    });
    // commander passes the positionals, then the command's options, then the command itself: each
    // action below declares the first two as commander parses them.
    try {
      await body(context, ...(args.slice(0, -1) as Args));
    } catch (error) {
      process.exitCode = report(error, context.output, fileOf(error), context.trainer.baseUrl);
    }
  };
}

const followOption = new Option('--follow', 'follow it live to its end');
const cancelOption = new Option('--cancel-on-interrupt', 'Ctrl-C cancels the job (it only detaches otherwise)');

function jobCommands(program: Command): void {
  program
    .command('submit')
    .description('submit a job spec (JSON file); prints the job id')
    .argument('<spec>', 'the job spec, a JSON file')
    .addOption(followOption)
    .addOption(cancelOption)
    .action(
      action((context, file: string, options: { follow?: boolean; cancelOnInterrupt?: boolean }) =>
        jobs.submit(context, file, options),
      ),
    );
  program
    .command('follow')
    .description('attach to a running or finished job: a bar per epoch, a line per epoch, a summary')
    .argument('<id>', 'job id')
    .addOption(cancelOption)
    .action(
      action((context, id: string, options: { cancelOnInterrupt?: boolean }) => jobs.follow(context, id, options)),
    );
  program
    .command('runs')
    .description('list runs as a table (filters and sorts of GET /jobs)')
    .option('--status <statuses>', 'comma-separated: queued,running,completed,failed,cancelled')
    .option('--dataset <name>')
    .option('--name <text>', 'part of the name')
    .option('--tag <tag>')
    .option('--owner <owner>', 'admins: only this owner')
    .option('--sort <sort>', 'created, finalAccuracy, bestAccuracy, duration, ...')
    .option('--order <order>', 'asc or desc')
    .option('--limit <n>', 'runs per page (1-100)')
    .option('--cursor <cursor>', 'the page after the one that printed it')
    .action(action((context, options: Parameters<typeof runs>[1]) => runs(context, options)));
  program
    .command('show')
    .description("a job's summary and epochs")
    .argument('<id>', 'job id')
    .action(action((context, id: string) => jobs.show(context, id)));
  program
    .command('compare')
    .description('runs side by side; --svg writes their loss curves')
    .argument('<ids...>', '2 to 20 job ids')
    .option('--svg <file>', 'write the overlaid loss curves to this SVG file')
    .action(action((context, ids: string[], options: { svg?: string }) => compare(context, ids, options)));
  program
    .command('cancel')
    .argument('<id>', 'job id')
    .description('cancel a queued or running job')
    .action(action((context, id: string) => jobs.cancel(context, id)));
  program
    .command('delete')
    .argument('<id>', 'job id')
    .description('delete an ended job with its history and models')
    .action(action((context, id: string) => jobs.remove(context, id)));
}

function exportCommand(program: Command): void {
  program
    .command('export')
    .description("a job's whole step history, streamed to stdout or --out")
    .argument('<id>', 'job id')
    .addOption(new Option('--format <format>', 'file format').choices(exportFormats).default('csv'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(
      action((context, id: string, options: { format: string; out?: string }) => exportHistory(context, id, options)),
    );
}

function datasetCommands(program: Command): void {
  const group = program.command('datasets').description('uploaded and bundled datasets');
  group
    .command('upload')
    .description(
      'upload a dataset: IDX files (train-images…, t10k-labels…) or CSV (train.csv, test.csv), or field=path',
    )
    .argument('<name>', 'dataset name')
    .argument('<files...>', 'the files')
    .option('--description <text>')
    .addOption(new Option('--format <format>').choices(['idx', 'csv']))
    .option('--test-fraction <fraction>', 'hold out this fraction of train as test')
    .option('--seed <n>', 'seed of the held-out choice')
    .option('--class-names <json>', 'JSON array of names in label order')
    .option('--num-classes <n>')
    .option('--label-column <column>', 'CSV: index or header name of the label column')
    .addOption(new Option('--header <header>', 'CSV header row').choices(['auto', 'yes', 'no']))
    .option('--shape <json>', 'JSON shape of one example, e.g. [28,28,1]')
    .action(
      action((context, name: string, files: string[], options: datasets.UploadOptions) =>
        datasets.upload(context, name, files, options),
      ),
    );
  group
    .command('ls')
    .description('list datasets')
    .action(action((context) => datasets.list(context)));
  group
    .command('rm')
    .argument('<name>')
    .description('delete an uploaded dataset')
    .action(action((context, name: string) => datasets.remove(context, name)));
}

function sweepAndKeyCommands(program: Command): void {
  const sweep = program.command('sweep').description('hyperparameter sweeps');
  sweep
    .command('submit')
    .argument('<spec>', 'the sweep spec, a JSON file')
    .addOption(followOption)
    .description('start a sweep; --follow shows its runs and leaderboard live')
    .action(
      action((context, file: string, options: { follow?: boolean }) => sweeps.submitSweep(context, file, options)),
    );
  sweep
    .command('follow')
    .argument('<id>', 'sweep id')
    .description("attach to a sweep's events")
    .action(action((context, id: string) => sweeps.followSweep(context, id)));
  sweep
    .command('show')
    .argument('<id>', 'sweep id')
    .description("a sweep's leaderboard")
    .action(action((context, id: string) => sweeps.showSweep(context, id)));
  const key = program.command('keys').description('API keys (admins)');
  key
    .command('create')
    .requiredOption('--owner <owner>')
    .requiredOption('--role <role>', 'viewer, member or admin')
    .requiredOption('--name <name>', 'what the key is for')
    .action(
      action((context, options: { owner: string; role: string; name: string }) => keys.createKey(context, options)),
    );
  key.command('ls').action(action((context) => keys.listKeys(context)));
  key
    .command('revoke')
    .argument('<id>')
    .action(action((context, id: string) => keys.revokeKey(context, id)));
  program
    .command('whoami')
    .description('who the key acts as')
    .action(action((context) => keys.whoami(context)));
}

// dist/cli/trainer/program.js and src/cli/trainer/program.ts both sit three folders below package.json.
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** The `trainer` command line. */
export function createProgram(): Command {
  const program = new Command('trainer')
    .version(version)
    .description('Drive a trainer server from the terminal: submit, follow, list, compare and export runs.')
    .option('--url <url>', 'the API (or TRAINER_URL)', process.env.TRAINER_URL ?? defaultUrl)
    .option('--key <key>', 'API key; prefer TRAINER_API_KEY, which no process list shows')
    .option('--json', 'machine-readable JSON: one object, or one per line while following; no colours or bars', false)
    .showHelpAfterError('(trainer --help lists the commands)')
    .exitOverride();
  jobCommands(program);
  exportCommand(program);
  datasetCommands(program);
  sweepAndKeyCommands(program);
  // Every subcommand fails like the program: commander's own errors become exit 2, never exit(1).
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/** Runs `argv` (without node and the script) and resolves with the exit code. */
export async function runTrainer(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with 0; anything else commander refuses is a usage error.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    return report(error, createOutput({ json: false }));
  }
  return typeof process.exitCode === 'number' ? process.exitCode : exitCodes.ok;
}
