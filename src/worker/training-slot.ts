import { Worker } from 'node:worker_threads';
import type { BackendName } from '../training/backend.js';
import type { TrainingListener, TrainingOutcome } from './training-listener.js';
import type { ThreadMessage, ThreadSettings } from './thread-protocol.js';

/** One training thread of a pool, and whether it is training a job. */
export interface Slot {
  thread: Worker;
  ready: Promise<BackendName>;
  busy: boolean;
}

/** Starts a training thread; `ready` resolves with its backend once it says so, or rejects if it cannot start. */
export function spawnSlot(threadFile: string, settings: ThreadSettings): Slot {
  const thread = new Worker(threadFile, { workerData: settings });
  const ready = new Promise<BackendName>((resolve, reject) => {
    const onMessage = (message: ThreadMessage) => {
      if (message.type === 'ready') resolve(message.backend);
      if (message.type === 'startup-failed') reject(new Error(message.message));
      if (message.type === 'ready' || message.type === 'startup-failed') thread.off('message', onMessage);
    };
    thread.on('message', onMessage);
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`training thread exited with code ${code} while starting`)));
  });
  ready.catch(() => undefined);
  return { thread, ready, busy: false };
}

/** How a thread left after a job: fine, holding tensors (to be replaced), or dead (to be replaced). */
export type ThreadFate = 'reusable' | 'leaking' | 'crashed';

/**
 * Follows `jobId` on a slot's thread: passes its steps, epochs, models and checkpoints to `listener` and
 * resolves with the outcome once the thread says it finished or failed, or dies. `onDone` learns
 * what became of the thread, after the slot is free again.
 */
export function followJob(
  slot: Slot,
  jobId: string,
  listener: TrainingListener,
  onDone: (fate: ThreadFate) => void,
): Promise<TrainingOutcome> {
  const { thread } = slot;
  return new Promise<TrainingOutcome>((resolve) => {
    const settle = (outcome: TrainingOutcome, fate: ThreadFate) => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
      slot.busy = false;
      onDone(fate);
      resolve(outcome);
    };
    // A thread left holding tensors (or variables, whose names later jobs reuse) must not train again.
    const fateOf = (numTensors: number): ThreadFate => (numTensors > 0 ? 'leaking' : 'reusable');
    const onMessage = (message: ThreadMessage) => {
      if (!('jobId' in message) || message.jobId !== jobId) return;
      if (message.type === 'steps') listener.onSteps(message.steps);
      else if (message.type === 'epoch') listener.onEpoch(message.metrics, message.evaluation);
      else if (message.type === 'model') listener.onModel(message.model);
      else if (message.type === 'checkpoint') listener.onCheckpoint(message.checkpoint);
      else if (message.type === 'finished') {
        const { outcome, steps, numTensors, stoppedEarly } = message;
        settle({ outcome, steps, numTensors, ...(stoppedEarly ? { stoppedEarly } : {}) }, fateOf(numTensors));
      } else {
        const { code, numTensors } = message;
        settle({ outcome: 'failed', code, message: message.message, numTensors }, fateOf(numTensors));
      }
    };
    const onError = (error: Error) =>
      settle(
        {
          outcome: 'failed',
          code: 'thread_crashed',
          message: `training thread crashed: ${error.message}`,
          numTensors: -1,
        },
        'crashed',
      );
    const onExit = (code: number) => onError(new Error(`exited with code ${code}`));
    thread.on('message', onMessage);
    thread.once('error', onError);
    thread.once('exit', onExit);
  });
}
