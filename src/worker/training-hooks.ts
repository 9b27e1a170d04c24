// What a training thread does with what training reports: posts it to the host, gathering each
// epoch's evaluation from its test pass and serialising each epoch's model on the way.
import { preprocessingOf } from '../domain/datasets.js';
import { createEvaluationAccumulator, type EvaluationAccumulator } from '../training/evaluation.js';
import { exportModel } from '../training/model-artifact.js';
import type { EpochMetrics, Model, TrainingHooks } from '../training/train.js';
import { stopSignals, type EpochModel, type ThreadMessage, type TrainRequest } from './thread-protocol.js';

export type SendToHost = (message: ThreadMessage, transfer?: ArrayBuffer[]) => void;

/** The bytes of `view` in an ArrayBuffer of their own, which can be handed to another thread. */
function ownBuffer(view: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = view;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  return new Uint8Array(view).buffer;
}

/** Serialises `model` as `metrics.epoch` left it, with what a user of the files needs in model.json too. */
async function epochModel(request: TrainRequest, metrics: EpochMetrics, model: Model): Promise<EpochModel> {
  const { info } = request.dataset;
  const usage = {
    jobId: request.jobId,
    epoch: metrics.epoch,
    testAccuracy: metrics.testAccuracy,
    inputShape: info.inputShape,
    preprocessing: preprocessingOf(info),
    classCount: info.numClasses,
    classNames: info.classNames ?? null,
  };
  const files = await exportModel(model, request.spec.model.layers, { trainer: usage });
  return {
    epoch: metrics.epoch,
    testAccuracy: metrics.testAccuracy,
    ...(metrics.validationAccuracy === undefined ? {} : { validationAccuracy: metrics.validationAccuracy }),
    // model.json is small and may sit in Buffer's shared pool: copied. The weights are handed over.
    modelJson: new Uint8Array(files.modelJson),
    weights: new Uint8Array(ownBuffer(files.weights)),
    tfjsVersion: files.tfjsVersion,
  };
}

/** The hooks a training thread trains `request` with, reporting everything through `send`. */
export function threadHooks(request: TrainRequest, send: SendToHost): TrainingHooks {
  const { jobId, stopFlag, dataset } = request;
  let evaluation: { epoch: number; accumulator: EvaluationAccumulator } | undefined;
  return {
    onSteps: (steps) => send({ type: 'steps', jobId, steps }),
    onTestPredictions: (epoch, { start, predicted, labels, confidences }) => {
      if (evaluation?.epoch !== epoch)
        evaluation = { epoch, accumulator: createEvaluationAccumulator(dataset.info.numClasses) };
      evaluation.accumulator.add({ firstIndex: start, trueLabels: labels, predictedLabels: predicted, confidences });
    },
    onEpoch: (metrics) => {
      const gathered = evaluation?.epoch === metrics.epoch ? evaluation.accumulator.result() : undefined;
      evaluation = undefined;
      send({ type: 'epoch', jobId, metrics, ...(gathered ? { evaluation: gathered } : {}) });
    },
    onEpochModel: async (metrics, model) => {
      const kept = await epochModel(request, metrics, model);
      send({ type: 'model', jobId, model: kept }, [kept.weights.buffer as ArrayBuffer]);
    },
    onCheckpoint: (checkpoint) => {
      // Handed over, not copied: these buffers are fresh copies made for this checkpoint.
      const buffers = [...checkpoint.weights, ...checkpoint.optimizer].map(
        (tensor) => tensor.values.buffer as ArrayBuffer,
      );
      send({ type: 'checkpoint', jobId, checkpoint }, buffers);
    },
    shouldStop: () => {
      const signal = Atomics.load(stopFlag, 0);
      return signal === stopSignals.checkpoint ? 'checkpoint' : signal === stopSignals.stop ? 'stop' : null;
    },
  };
}
