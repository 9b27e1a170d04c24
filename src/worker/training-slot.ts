import { Worker } from 'node:worker_threads';
import type { BackendName } from '../training/backend.js';
import type { TrainingListener, TrainingOutcome } from './training-listener.js';
import type { ThreadMessage, ThreadSettings, ThreadState } from './thread-protocol.js';

/** One training thread of a pool, and whether it is training a job. */
export interface Slot {
  thread: Worker;
  ready: Promise<BackendName>;
  busy: boolean;
  /** Its Linux thread id once it is ready, where /proc tells it. */
  threadId?: number;
}

/** Starts a training thread; `ready` resolves with its backend once it says so, or rejects if it cannot start. */
export function spawnSlot(threadFile: string, settings: ThreadSettings): Slot {
  const thread = new Worker(threadFile, { workerData: settings });
  const slot: Slot = { thread, ready: Promise.resolve('cpu'), busy: false };
  slot.ready = new Promise<BackendName>((resolve, reject) => {
    const onMessage = (message: ThreadMessage) => {
      if (message.type === 'ready') {
        if (message.threadId !== undefined) slot.threadId = message.threadId;
        resolve(message.backend);
      }
      if (message.type === 'startup-failed') reject(new Error(message.message));
      if (message.type === 'ready' || message.type === 'startup-failed') thread.off('message', onMessage);
    };
    thread.on('message', onMessage);
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`training thread exited with code ${code} while starting`)));
  });
  slot.ready.catch(() => undefined);
  return slot;
}

/**
 * How a thread left after a job: fine; holding tensors, with a heap grown past the pool's limit, or
 * dead (each to be replaced).
 */
export type ThreadFate = 'reusable' | 'leaking' | 'grown' | 'crashed';

/**
 * A thread left holding tensors (or variables, whose names later jobs reuse) must not train again;
 * nor one whose WebAssembly heap grew past `maxHeapBytes`: that memory is never given back while
 * the thread lives, so a worker that trained a big job would hold it while idle.
 */
export function fateOf({ numTensors, heapBytes = 0 }: ThreadState, maxHeapBytes: number): ThreadFate {
  if (numTensors > 0) return 'leaking';
  return heapBytes > maxHeapBytes ? 'grown' : 'reusable';
}

/**
 * Follows `jobId` on a slot's thread: passes its steps, epochs, models and checkpoints to `listener` and
 * resolves with the outcome once the thread says it finished or failed, or dies. `onDone` learns
 * what became of the thread, after the slot is free again.
 */
export function followJob(
  slot: Slot,
  jobId: string,
  listener: TrainingListener,
  maxHeapBytes: number,
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
    const onMessage = (message: ThreadMessage) => {
      if (!('jobId' in message) || message.jobId !== jobId) return;
      if (message.type === 'steps') listener.onSteps(message.steps);
      else if (message.type === 'epoch') listener.onEpoch(message.metrics, message.evaluation);
      else if (message.type === 'model') listener.onModel(message.model);
      else if (message.type === 'checkpoint') listener.onCheckpoint(message.checkpoint);
      else if (message.type === 'finished') {
        const { outcome, steps, numTensors, stoppedEarly } = message;
        settle(
          { outcome, steps, numTensors, ...(stoppedEarly ? { stoppedEarly } : {}) },
          fateOf(message, maxHeapBytes),
        );
      } else {
        const { code, numTensors } = message;
        settle({ outcome: 'failed', code, message: message.message, numTensors }, fateOf(message, maxHeapBytes));
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
