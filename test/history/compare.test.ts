import { describe, expect, it } from 'vitest';
import { compareRuns, hyperparameterDiff, layerDiff, lossCurve, runLabels } from '../../src/history/compare.js';
import type { ComparedRun } from '../../src/history/compare.js';
import type { JobSpec, LayerSpec } from '../../src/domain/job-spec.js';

const spec = (overrides: Partial<JobSpec>, layers: LayerSpec[]): JobSpec => ({
  dataset: 'mnist',
  epochs: 2,
  learningRate: 0.1,
  batchSize: 32,
  optimizer: 'sgd',
  ...overrides,
  model: { layers },
});

const dense = (units: number): LayerSpec => ({ type: 'dense', units, activation: 'relu' });

function run(id: string, name: string | null, jobSpec: JobSpec, extra: Partial<ComparedRun<{ sweep: null }>> = {}) {
  return {
    id,
    name,
    status: 'completed',
    spec: jobSpec,
    inputShape: [],
    parameterCount: 1000,
    totalSteps: 40,
    finalTestAccuracy: 0.9,
    bestTestAccuracy: 0.92,
    finalTestLoss: 0.3,
    backend: 'wasm',
    epochs: [
      { durationMs: 100, samplesPerSecond: 1000 },
      { durationMs: 300, samplesPerSecond: 3000 },
    ],
    outcome: { sweep: null },
    ...extra,
  } satisfies ComparedRun<{ sweep: null }>;
}

describe('comparing runs', () => {
  it('labels runs by name, adding a short id only where names repeat', () => {
    const labels = runLabels([
      { id: 'aaaaaaaa-1', name: 'wide' },
      { id: 'bbbbbbbb-2', name: 'wide' },
      { id: 'cccccccc-3', name: 'deep' },
      { id: 'dddddddd-4', name: null },
    ]);
    expect([...labels.values()]).toEqual(['wide (aaaaaaaa)', 'wide (bbbbbbbb)', 'deep', 'dddddddd']);
  });

  it('splits hyperparameters into those that differ and those all runs share', () => {
    const diff = hyperparameterDiff([spec({ learningRate: 0.1 }, []), spec({ learningRate: 0.01, seed: 3 }, [])]);
    expect(diff.differing).toEqual(['learningRate', 'seed']);
    expect(diff.shared).toEqual({
      dataset: 'mnist',
      epochs: 2,
      batchSize: 32,
      optimizer: 'sgd',
      trainSamples: null,
      testSamples: null,
    });
  });

  it("lines layers up by position, null past a shorter network's end", () => {
    expect(layerDiff([spec({}, [dense(10)]), spec({}, [dense(10), dense(5)])])).toEqual([
      { index: 0, same: true, byRun: ['dense 10 relu', 'dense 10 relu'] },
      { index: 1, same: false, byRun: [null, 'dense 5 relu'] },
    ]);
  });

  it('puts a loss curve on both a step and an epoch axis', () => {
    const curve = lossCurve({ totalSteps: 40, spec: spec({ epochs: 4 }, []) }, [
      { step: 1, epoch: 1, loss: 2.5 },
      { step: 25, epoch: 3, loss: 0.5 },
    ]);
    expect(curve).toEqual([
      { step: 1, epochFraction: 0.1, loss: 2.5 },
      { step: 25, epochFraction: 2.5, loss: 0.5 },
    ]);
  });

  it("sums a run's training time, averages its speed, and passes its outcome through", () => {
    const first = run('aaaaaaaa-1', 'small', spec({}, [dense(10)]));
    const second = run('bbbbbbbb-2', 'large', spec({ batchSize: 64 }, [dense(10)]), { epochs: [] });
    const comparison = compareRuns([first, second], new Map([['aaaaaaaa-1', [{ step: 20, epoch: 1, loss: 1 }]]]), 50);
    expect(comparison.runs[0]).toMatchObject({
      label: 'small',
      hyperparameters: { batchSize: 32 },
      trainingMs: 400,
      samplesPerSecond: 2000,
      epochsCompleted: 2,
      sweep: null,
    });
    expect(comparison.runs[1]).toMatchObject({ trainingMs: 0, samplesPerSecond: null, epochsCompleted: 0 });
    expect(comparison.curves).toEqual({
      points: 50,
      runs: [
        { id: 'aaaaaaaa-1', label: 'small', points: [{ step: 20, epochFraction: 1, loss: 1 }] },
        { id: 'bbbbbbbb-2', label: 'large', points: [] },
      ],
    });
  });
});
