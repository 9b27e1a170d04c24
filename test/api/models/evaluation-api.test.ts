import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createModelsService, type EvaluationReader } from '../../../src/api/models/models-service.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import type { JobsRepository, JobWithEpochs } from '../../../src/store/jobs-repository.js';
import { createEvaluationAccumulator } from '../../../src/training/evaluation.js';
import { silentLogger } from '../../helpers/env.js';
import { idleQueue } from '../../helpers/stand-ins.js';
import { appWithoutStore } from '../http/app-stand-ins.js';

const jobId = '5b0c6f1e-3a52-4c1e-9d8f-2f4b7a9e0c13';

// Three classes, six test examples: two mistakes.
function evaluationOf() {
  const accumulator = createEvaluationAccumulator(3);
  accumulator.add({
    firstIndex: 0,
    trueLabels: [0, 0, 1, 1, 2, 2],
    predictedLabels: [0, 1, 1, 1, 2, 0],
    confidences: [0.9, 0.8, 0.7, 0.6, 0.9, 0.95],
  });
  return accumulator.result();
}

describe('GET /jobs/:id/evaluation', () => {
  let app: FastifyInstance;
  const asked: (number | undefined)[] = [];

  beforeAll(async () => {
    const evaluations: EvaluationReader = {
      find: (_jobId, epoch) => {
        asked.push(epoch);
        return Promise.resolve(epoch === undefined || epoch === 2 ? { epoch: 2, evaluation: evaluationOf() } : null);
      },
    };
    const jobStore = {
      find: (id: string) => Promise.resolve(id === jobId ? ({ id, status: 'completed' } as JobWithEpochs) : null),
    };
    const models = createModelsService({
      jobs: jobStore,
      models: { find: () => Promise.resolve(null) },
      artifacts: {} as ArtifactStore,
      predict: () => Promise.reject(new Error('not used')),
      evaluations,
    });
    // The route checks the job is visible first, through the jobs service.
    const jobs = createJobsService({
      jobs: jobStore as unknown as JobsRepository,
      ...idleQueue,
      maxParameters: 1,
      maxJobMemoryBytes: 1,
      logger: silentLogger(),
    });
    app = appWithoutStore({ models, jobs });
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers the last epoch by default: confusion matrix, per-class metrics and mistakes', async () => {
    const response = await app.inject({ method: 'GET', url: `/jobs/${jobId}/evaluation` });
    expect(response.statusCode).toBe(200);
    const body = response.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      jobId,
      epoch: 2,
      classCount: 3,
      count: 6,
      correct: 4,
      confusionMatrix: [
        [1, 1, 0],
        [0, 2, 0],
        [1, 0, 1],
      ],
      mistakes: [
        { index: 5, trueLabel: 2, predictedLabel: 0, confidence: 0.95 },
        { index: 1, trueLabel: 0, predictedLabel: 1, confidence: 0.8 },
      ],
    });
    expect(body.classes).toEqual(evaluationOf().classes);
    expect(asked.at(-1)).toBeUndefined();
  });

  it('answers a given epoch, 409 for one without an evaluation, 404 for an unknown job', async () => {
    expect((await app.inject({ method: 'GET', url: `/jobs/${jobId}/evaluation?epoch=2` })).statusCode).toBe(200);
    expect(asked.at(-1)).toBe(2);
    const missing = await app.inject({ method: 'GET', url: `/jobs/${jobId}/evaluation?epoch=1` });
    expect(missing.statusCode).toBe(409);
    expect(missing.json<ErrorBody>().code).toBe('no_evaluation');
    expect(missing.json<ErrorBody>().error).toMatch(/for epoch 1/);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await app.inject({ method: 'GET', url: `/jobs/${unknown}/evaluation` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/jobs/${jobId}/evaluation?epoch=0` })).statusCode).toBe(400);
  });
});
