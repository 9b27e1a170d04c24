import type { JobSpec } from '../domain/job-spec.js';
import { testSampleCount } from '../domain/model-shape.js';
import type { Dataset } from '../datasets/loading/index.js';
import { restoreWeights, type Checkpoint } from './checkpoint.js';
import { buildModel } from './model.js';
import { testPass, type TestResult } from './test-pass.js';

/**
 * The test pass of `spec`'s network with a checkpoint's weights, as an epoch's metrics are
 * measured: what a run that starts from the checkpoint would measure before its first step.
 */
export function evaluateCheckpoint(
  spec: JobSpec,
  dataset: Dataset,
  checkpoint: Pick<Checkpoint, 'weights'>,
  chunkSize = 1000,
): TestResult {
  const model = buildModel(spec.model.layers, dataset.info.inputShape, spec.seed ?? 0);
  try {
    restoreWeights(model, checkpoint.weights);
    const settings = { count: testSampleCount(spec, dataset.info), classes: dataset.info.numClasses, chunkSize };
    return testPass(model, dataset.test, settings);
  } finally {
    model.dispose();
  }
}
