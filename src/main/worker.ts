import { runProcess } from './process.js';
import { startWorker } from './start-worker.js';

await runProcess('worker', startWorker);
