import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import type { ArtifactStore } from '../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import {
  createModelsRepository,
  type ModelsRepository,
  type NewModelRecord,
} from '../../src/store/models-repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { smallSpec } from '../helpers/specs.js';

describe('models repository', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  let models: ModelsRepository;
  let artifacts: ArtifactStore;
  beforeAll(async () => {
    database = await createTestDatabase('models');
    jobs = createJobsRepository(database.prisma);
    models = createModelsRepository(database.prisma);
    artifacts = createPostgresArtifactStore(database.prisma);
  });
  afterAll(() => database.drop());

  async function newJob() {
    const parsed = parseJobSpec(smallSpec(), { maxParameters: 1e9 });
    if (!parsed.ok) throw new Error('bad spec');
    return jobs.create({ id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 64 });
  }

  async function newModel(jobId: string, version: 'final' | 'best', epoch = 3): Promise<NewModelRecord> {
    const modelJson = await artifacts.put([Buffer.from('{"format":"layers-model"}')]);
    const weights = await artifacts.put([randomBytes(100)]);
    return {
      jobId,
      version,
      epoch,
      modelJsonArtifactId: modelJson.id,
      weightsArtifactId: weights.id,
      tfjsVersion: '4.22.0',
      inputShape: [28, 28],
      preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
      classCount: 10,
      classNames: null,
      testAccuracy: 0.91,
    };
  }

  it('saves, finds and lists the models of a job, final first', async () => {
    const job = await newJob();
    const best = await newModel(job.id, 'best', 2);
    const final = await newModel(job.id, 'final', 3);
    await models.save(best);
    const saved = await models.save({ ...final, classNames: ['zero', 'one'] });
    expect(saved).toMatchObject({ ...final, classNames: ['zero', 'one'] });
    expect(saved.createdAt).toBeInstanceOf(Date);
    expect(await models.find(job.id, 'best')).toMatchObject(best);
    expect((await models.listByJob(job.id)).map((model) => model.version)).toEqual(['final', 'best']);
    expect(await models.find(randomUUID(), 'final')).toBeNull();
  });

  it('replacing a model releases the artifacts only it referred to', async () => {
    const job = await newJob();
    const first = await newModel(job.id, 'best', 1);
    await models.save(first);
    // final shares best's model.json, as when the best epoch is the last one.
    await models.save({ ...(await newModel(job.id, 'final')), modelJsonArtifactId: first.modelJsonArtifactId });
    const second = await newModel(job.id, 'best', 2);
    await models.save(second);
    expect(await models.find(job.id, 'best')).toMatchObject({ epoch: 2, weightsArtifactId: second.weightsArtifactId });
    expect(await artifacts.stat(first.weightsArtifactId)).toBeNull();
    expect(await artifacts.stat(first.modelJsonArtifactId)).not.toBeNull();
  });

  it('deleting the job deletes its models and their artifacts, and nothing of other jobs', async () => {
    const job = await newJob();
    const other = await newJob();
    const final = await newModel(job.id, 'final');
    const kept = await newModel(other.id, 'final');
    await models.save(final);
    await models.save(kept);
    await database.prisma.job.delete({ where: { id: job.id } });
    expect(await models.listByJob(job.id)).toEqual([]);
    expect(await artifacts.stat(final.modelJsonArtifactId)).toBeNull();
    expect(await artifacts.stat(final.weightsArtifactId)).toBeNull();
    expect(await models.find(other.id, 'final')).not.toBeNull();
    expect(await artifacts.stat(kept.weightsArtifactId)).not.toBeNull();
  });

  it('deleteForJob removes the models with their artifacts', async () => {
    const job = await newJob();
    const final = await newModel(job.id, 'final');
    await models.save(final);
    await models.save(await newModel(job.id, 'best'));
    expect(await models.deleteForJob(job.id)).toBe(2);
    expect(await models.listByJob(job.id)).toEqual([]);
    expect(await artifacts.stat(final.weightsArtifactId)).toBeNull();
  });
});
