import { describe, expect, it } from 'vitest';
import { attemptEnd, type StopReason } from '../../src/worker/final-status.js';
import type { TrainingOutcome } from '../../src/worker/training-pool.js';

const completed: TrainingOutcome = { outcome: 'completed', steps: 100, numTensors: 0 };
const stopped: TrainingOutcome = { outcome: 'stopped', steps: 42, numTensors: 0 };
const failed: TrainingOutcome = { outcome: 'failed', code: 'diverged', message: 'loss became NaN', numTensors: 0 };
const crashed: TrainingOutcome = { outcome: 'failed', code: 'thread_crashed', message: 'exited', numTensors: -1 };
const helperLost: TrainingOutcome = { outcome: 'failed', code: 'helper_lost', message: 'helper died', numTensors: 0 };

const end = (outcome: TrainingOutcome, stopReason?: StopReason, writeFailure?: unknown) =>
  attemptEnd({ outcome, stopReason, writeFailure, maxTrainingMs: 4000 });

describe('the attempt outcome table', () => {
  it("names the job's own maxDurationSeconds when that was the limit", () => {
    expect(
      attemptEnd({
        outcome: stopped,
        stopReason: 'timeout',
        writeFailure: undefined,
        maxTrainingMs: 4000,
        jobLimitSeconds: 2,
      }),
    ).toEqual({
      action: 'finish',
      status: 'failed',
      error:
        "stopped after the job's maxDurationSeconds of 2 s (step 42); its history, models and checkpoints are kept",
    });
  });

  it.each([
    ['completed', completed, undefined, { action: 'finish', status: 'completed', error: null }],
    ['completed although a cancel came', completed, 'cancel', { action: 'finish', status: 'completed', error: null }],
    ['failed', failed, undefined, { action: 'finish', status: 'failed', error: 'loss became NaN' }],
    ['stopped by a cancel', stopped, 'cancel', { action: 'finish', status: 'cancelled', error: null }],
    ['stopped for shutdown', stopped, 'shutdown', { action: 'hand-back' }],
    [
      'stopped at the deadline',
      stopped,
      'timeout',
      { action: 'finish', status: 'failed', error: 'stopped after the maximum training time of 4 s (step 42)' },
    ],
    ['its training thread died', crashed, undefined, { action: 'retry' }],
    ['the thread lent to it died during a step', helperLost, undefined, { action: 'retry' }],
    ['its training thread died while the worker shut down', crashed, 'shutdown', { action: 'retry' }],
    [
      'its training thread died after a cancel',
      crashed,
      'cancel',
      { action: 'finish', status: 'failed', error: 'exited' },
    ],
    ['stopped after losing the lease', stopped, 'lease-lost', { action: 'abandon' }],
    ['completed after losing the lease', completed, 'lease-lost', { action: 'abandon' }],
  ] as const)('%s', (_name, outcome, reason, expected) => {
    expect(end(outcome, reason)).toEqual(expected);
  });

  it('fails a job whose results could not be stored, whatever training did', () => {
    for (const outcome of [completed, stopped, failed]) {
      expect(end(outcome, 'store', new Error('connection refused'))).toEqual({
        action: 'finish',
        status: 'failed',
        error: 'could not store training results: connection refused',
      });
    }
  });
});
