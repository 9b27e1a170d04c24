// Entry point of a training thread: the only place tensors are touched in a worker process,
// so the process's event loop stays free to renew BullMQ locks and write results.
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../training/backend.js';
import { HelperLink, HelperLost } from '../training/split/helper-link.js';
import { helpWith } from '../training/split/help.js';
import { train, TrainingError } from '../training/train.js';
import { wasmBackend } from '../training/wasm-heap.js';
import type { ThreadMessage, ThreadRequest, ThreadSettings, ThreadState } from './thread-protocol.js';
import { threadHooks } from './training-hooks.js';

const port = parentPort;
if (!port) throw new Error('training-thread must run as a worker thread');
const settings = workerData as ThreadSettings;
const send = (message: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** This thread's Linux thread id, where /proc tells it. */
function linuxThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').at(-1)) || undefined;
  } catch {
    return undefined;
  }
}

/** What the pool needs to know of this thread when a job ends. */
function threadState(): ThreadState {
  return { numTensors: tf.memory().numTensors, heapBytes: wasmBackend()?.wasm.HEAPF32.buffer.byteLength ?? 0 };
}

try {
  const backend = await selectBackend(settings.backend);
  const threadId = linuxThreadId();
  send({ type: 'ready', backend, ...(threadId === undefined ? {} : { threadId }) });
} catch (error) {
  send({ type: 'startup-failed', message: (error as Error).message });
}

port.on('message', (request: ThreadRequest) => {
  if (request.type === 'help') {
    // Blocks this thread until the job lets it go; the pool sends it nothing meanwhile.
    try {
      helpWith(HelperLink.open(request.link.shape, request.link.buffer));
    } finally {
      send({ type: 'helped', ...threadState() });
    }
    return;
  }
  const { jobId, spec, dataset, resume, checkpointEverySteps, previousEpochs, helperLink } = request;
  const link = helperLink && HelperLink.open(helperLink.shape, helperLink.buffer);
  // Steps reach the host at most every 250 ms, as often as the host writes them (STEP_FLUSH_MS's
  // default): more messages would only wake its event loop more often.
  const options = {
    checkpointEverySteps,
    lossReadIntervalMs: 250,
    ...(previousEpochs ? { previousEpochs } : {}),
    ...(link ? { helperLink: link } : {}),
  };
  const training = train(spec, dataset, threadHooks(request, send), options, resume);
  // Whatever the end, a helper still lent to the job leaves.
  void training.finally(() => link?.close()).catch(() => undefined);
  training.then(
    (result) =>
      send({
        type: 'finished',
        jobId,
        outcome: result.outcome,
        steps: result.steps,
        ...threadState(),
        ...(result.stoppedEarly ? { stoppedEarly: result.stoppedEarly } : {}),
      }),
    (error: unknown) => {
      const code =
        error instanceof TrainingError ? error.code : error instanceof HelperLost ? 'helper_lost' : 'training_error';
      const message = error instanceof Error ? error.message : String(error);
      send({ type: 'failed', jobId, code, message, ...threadState() });
    },
  );
});
