#!/usr/bin/env node
// `trainer`: the command line of the trainer API (package.json `bin`). See the README's "From the terminal".
import { runTrainer } from './program.js';

// The key may have been given as --key: the process title replaces the command line that ps shows.
process.title = 'trainer';
process.exitCode = await runTrainer(process.argv.slice(2));
