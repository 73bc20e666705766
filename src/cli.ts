#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as bench from './commands/bench.js';
import * as info from './commands/info.js';
import * as predict from './commands/predict.js';
import * as serve from './commands/serve.js';
import { packagePath } from './paths.js';

// `pytorch-infer predict … | head` closes stdout early: stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

await yargs(hideBin(process.argv).map((arg) => (arg === '-' ? predict.DASH : arg)))
  .scriptName('pytorch-infer')
  .usage('$0 <command> [options]\n\nObject recognition on photos: top-k ImageNet-1k classes from a TorchScript model run by LibTorch.')
  .command(predict)
  .command(info)
  .command(serve)
  .command(bench)
  .demandCommand(1, 'Name a command: predict, info, serve or bench')
  .strict()
  // yargs types check's second argument as the aliases; it is the parser's options.
  .check((argv, options) => givenOnce(argv, options as unknown as ParserOptions))
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((msg, err) => {
    // Usage mistakes exit 2, failures while running exit 1; neither prints a stack. A check()
    // that answers a message (not an Error) is a usage mistake.
    const failure = err instanceof Error ? err : undefined;
    console.error(failure ? `error: ${failure.message}` : `error: ${msg}\nRun with --help for usage.`);
    process.exit(failure ? 1 : 2);
  })
  .help()
  .version(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).version)
  .parseAsync();

interface ParserOptions {
  /** Every option declared, by its name as declared. */
  key: Record<string, boolean>;
  array: string[];
}

/**
 * yargs makes an option given twice an array; a one-value option so given is a usage mistake, not
 * the first or the last of them silently (`--host 127.0.0.1 --host 0.0.0.0` is not two addresses).
 */
function givenOnce(argv: Record<string, unknown>, options: ParserOptions): true | string {
  for (const name of Object.keys(options.key)) {
    const value = argv[name];
    if (!Array.isArray(value) || options.array.includes(name)) continue;
    return `--${name} was given ${value.length} times (${value.join(', ')}): give it once`;
  }
  return true;
}
