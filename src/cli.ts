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
