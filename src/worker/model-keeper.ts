import { preprocessingOf, type DatasetInfo } from '../domain/datasets.js';
import type { EpochMetrics } from '../domain/metrics.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import type { ModelsRepository, NewModelRecord } from '../store/models-repository.js';
import type { EpochModel } from './thread-protocol.js';

/** What keeping models needs of the store: the artifact store's `put` and the models repository. */
export interface ModelStore {
  putArtifact: ArtifactStore['put'];
  saveModel: ModelsRepository['save'];
  findModel: ModelsRepository['find'];
  /** The dataset a job trains on, bundled or uploaded: its shape, preprocessing and classes go with the model. */
  datasetInfo(name: string): Promise<DatasetInfo | undefined>;
}

/** What using a model on raw input needs to know, from the dataset it was trained on. */
function usageOf(info: DatasetInfo) {
  return {
    inputShape: [...info.inputShape],
    preprocessing: preprocessingOf(info),
    classCount: info.numClasses,
    classNames: info.classNames ? [...info.classNames] : null,
  };
}

/** What `best` is chosen by, as for the job's bestEpoch: validation accuracy with a validation split, else test accuracy. */
function scoreOf(model: Pick<EpochModel, 'testAccuracy' | 'validationAccuracy'>): number {
  return model.validationAccuracy ?? model.testAccuracy;
}

/**
 * Keeps a job's trained models as its epochs end. Every epoch's model is stored as the job's
 * `final` at once, so whatever stops the job (completion, a cancel, a failure, a dead worker) it
 * keeps the model of its last completed epoch; a failed job keeps that one, not its checkpoint's
 * weights (a mid-epoch checkpoint has no test accuracy to go with them). An epoch's model is also
 * the job's `best` when its score is at least the best stored so far, the score being the one the
 * job's bestEpoch is chosen by: validation accuracy for a job with a validation split, else test
 * accuracy. The latest of equal epochs wins, so the final one when it ties. The score to beat is read
 * from the store (the best model's epoch, and its validation accuracy from `listEpochs`), so `best`
 * carries over from earlier attempts. When both versions are the same epoch's they share artifacts.
 */
export function createModelKeeper(
  store: ModelStore,
  jobId: string,
  dataset: string,
  listEpochs: () => Promise<readonly EpochMetrics[]> = () => Promise.resolve([]),
) {
  let usage: ReturnType<typeof usageOf> | undefined;
  // Undefined until read from the store; null when the job has no best model yet.
  let bestScore: number | null | undefined;

  /** The score of the stored best model, by the rule `model` is judged by. */
  async function storedBestScore(model: EpochModel): Promise<number | null> {
    const stored = await store.findModel(jobId, 'best');
    if (!stored) return null;
    if (model.validationAccuracy === undefined) return stored.testAccuracy ?? Number.NEGATIVE_INFINITY;
    const epoch = (await listEpochs()).find((metrics) => metrics.epoch === stored.epoch);
    return epoch?.validationAccuracy ?? Number.NEGATIVE_INFINITY;
  }

  return {
    /** Stores `model` as `final`, and as `best` when it is at least as good as the best so far. */
    async keep(model: EpochModel): Promise<{ best: boolean }> {
      bestScore ??= await storedBestScore(model);
      if (!usage) {
        const info = await store.datasetInfo(dataset);
        if (!info) throw new Error(`dataset ${dataset} is gone; its model cannot be described`);
        usage = usageOf(info);
      }
      const modelJson = await store.putArtifact([model.modelJson]);
      const weights = await store.putArtifact([model.weights]);
      const record: Omit<NewModelRecord, 'version'> = {
        jobId,
        epoch: model.epoch,
        modelJsonArtifactId: modelJson.id,
        weightsArtifactId: weights.id,
        tfjsVersion: model.tfjsVersion,
        testAccuracy: model.testAccuracy,
        ...usage,
      };
      const best = bestScore === null || scoreOf(model) >= bestScore;
      if (best) {
        await store.saveModel({ ...record, version: 'best' });
        bestScore = scoreOf(model);
      }
      await store.saveModel({ ...record, version: 'final' });
      return { best };
    },
  };
}

export type ModelKeeper = ReturnType<typeof createModelKeeper>;
