import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../../src/api/http/errors.js';
import * as errors from '../../../src/domain/errors.js';

const issues = [
  { path: 'model.layers.0.units', message: 'too small' },
  { path: 'model.layers.0.units', message: 'not whole' },
  { path: 'epochs', message: 'required' },
];

/** Every domain error with sample arguments, and what a client and a log see of it. */
const cases = [
  {
    error: new errors.JobNotFound(['a1']),
    name: 'JobNotFound',
    status: 404,
    body: { error: 'job a1 was not found', code: 'not_found' },
  },
  {
    error: new errors.JobNotFound(['a1', 'b2'], { among: true }),
    name: 'JobNotFound',
    status: 404,
    body: { error: 'no job with id a1, b2', code: 'not_found' },
  },
  {
    error: new errors.InvalidSpec(issues),
    name: 'InvalidSpec',
    status: 400,
    body: { error: 'invalid job spec: model.layers.0.units, epochs', code: 'invalid_spec', issues },
  },
  {
    error: new errors.InvalidRequest('invalid_id', 'the id is not a UUID'),
    name: 'InvalidRequest',
    status: 400,
    body: { error: 'the id is not a UUID', code: 'invalid_id' },
  },
  {
    error: errors.InvalidRequest.of('query', issues),
    name: 'InvalidRequest',
    status: 400,
    body: { error: 'invalid query: model.layers.0.units, epochs', code: 'invalid_query', issues },
  },
  {
    error: new errors.CheckpointNotKept('a1', 1, [2, 3]),
    name: 'CheckpointNotKept',
    status: 409,
    body: {
      error: 'epoch 1 of job a1 is not kept; kept epochs: 2, 3',
      code: 'checkpoint_not_kept',
      issues: [{ path: 'fromEpoch', message: 'not kept; kept epochs are 2, 3' }],
    },
  },
  {
    error: new errors.IdempotencyConflict(),
    name: 'IdempotencyConflict',
    status: 422,
    body: { error: 'this Idempotency-Key was already used with a different body', code: 'idempotency_key_reused' },
  },
  {
    error: new errors.JobAlreadyFinished('a1', 'cancelled'),
    name: 'JobAlreadyFinished',
    status: 409,
    body: { error: 'job a1 has already been cancelled', code: 'job_finished' },
  },
  {
    error: new errors.JobAlreadyFinished('a1', 'completed'),
    name: 'JobAlreadyFinished',
    status: 409,
    body: { error: 'job a1 has already completed', code: 'job_finished' },
  },
  {
    error: new errors.DependencyUnavailable('database', { cause: new Error('refused') }),
    name: 'DependencyUnavailable',
    status: 503,
    body: {
      error: 'the database (Postgres) is unavailable right now; try again shortly',
      code: 'database_unavailable',
    },
    headers: { 'retry-after': '5' },
  },
  {
    error: new errors.DependencyUnavailable('queue'),
    name: 'DependencyUnavailable',
    status: 503,
    body: { error: 'the queue (Redis) is unavailable right now; try again shortly', code: 'queue_unavailable' },
    headers: { 'retry-after': '5' },
  },
  {
    error: new errors.ArtifactStoreUnavailable('s3://trainer/artifacts', 'ECONNREFUSED', {
      cause: new Error('refused'),
    }),
    name: 'ArtifactStoreUnavailable',
    status: 503,
    body: {
      error: 'artifact store unavailable: s3://trainer/artifacts (ECONNREFUSED); try again shortly',
      code: 'artifact_store_unavailable',
      store: 's3://trainer/artifacts',
    },
    headers: { 'retry-after': '5' },
  },
  {
    error: new errors.JobStillActive('a1', 'running'),
    name: 'JobStillActive',
    status: 409,
    body: {
      error: 'job a1 is running; cancel it first (POST /jobs/a1/cancel), then delete it once it has ended',
      code: 'job_active',
    },
  },
  {
    error: new errors.ModelNotAvailable('a1', 'best', 'running'),
    name: 'ModelNotAvailable',
    status: 409,
    body: { error: 'job a1 has no best model: it is running; its model is stored when it ends', code: 'no_model' },
  },
  {
    error: new errors.ModelNotAvailable('a1', 'final', 'cancelled'),
    name: 'ModelNotAvailable',
    status: 409,
    body: { error: 'job a1 has no final model: it was cancelled before any model was stored', code: 'no_model' },
  },
  {
    error: new errors.ModelNotAvailable('a1', 'final', 'failed'),
    name: 'ModelNotAvailable',
    status: 409,
    body: { error: 'job a1 has no final model: it failed before any model was stored', code: 'no_model' },
  },
  {
    error: new errors.EvaluationNotAvailable('a1'),
    name: 'EvaluationNotAvailable',
    status: 409,
    body: { error: 'job a1 has no evaluation recorded yet', code: 'no_evaluation' },
  },
  {
    error: new errors.EvaluationNotAvailable('a1', 3),
    name: 'EvaluationNotAvailable',
    status: 409,
    body: { error: 'job a1 has no evaluation recorded for epoch 3', code: 'no_evaluation' },
  },
  {
    error: new errors.ResourceNotFound('no example 7'),
    name: 'ResourceNotFound',
    status: 404,
    body: { error: 'no example 7', code: 'not_found' },
  },
  {
    error: new errors.TooManyItems('too many inputs', issues.slice(2)),
    name: 'TooManyItems',
    status: 413,
    body: { error: 'too many inputs', code: 'too_many_inputs', issues: issues.slice(2) },
  },
  {
    error: new errors.DatasetNotFound('digits'),
    name: 'DatasetNotFound',
    status: 404,
    body: { error: 'there is no dataset called "digits"', code: 'dataset_not_found' },
  },
  {
    error: new errors.DatasetNameTaken('digits'),
    name: 'DatasetNameTaken',
    status: 409,
    body: {
      error: 'a dataset called "digits" already exists; delete it first or choose another name',
      code: 'dataset_exists',
    },
  },
  {
    error: new errors.DatasetInUse('digits', ['a1', 'b2']),
    name: 'DatasetInUse',
    status: 409,
    body: {
      error: 'dataset "digits" is used by 2 queued or running job(s): a1, b2; cancel them or wait for them to finish',
      code: 'dataset_in_use',
    },
  },
  {
    error: new errors.BundledDatasetReadOnly('mnist'),
    name: 'BundledDatasetReadOnly',
    status: 403,
    body: { error: '"mnist" is bundled with the server and cannot be deleted', code: 'dataset_bundled' },
  },
  {
    error: new errors.InvalidDataset(issues.slice(2)),
    name: 'InvalidDataset',
    status: 400,
    body: { error: 'invalid dataset upload: epochs: required', code: 'invalid_dataset', issues: issues.slice(2) },
  },
  {
    error: new errors.DatasetTooLarge('upload', 'too big'),
    name: 'DatasetTooLarge',
    status: 413,
    body: { error: 'too big', code: 'upload_too_large' },
  },
  {
    error: new errors.DatasetTooLarge('storage', 'full'),
    name: 'DatasetTooLarge',
    status: 413,
    body: { error: 'full', code: 'dataset_storage_full' },
  },
  {
    error: new errors.DatasetTooLarge('owner', 'over quota'),
    name: 'DatasetTooLarge',
    status: 413,
    body: { error: 'over quota', code: 'dataset_quota_exceeded' },
  },
  {
    error: new errors.Unauthenticated(),
    name: 'Unauthenticated',
    status: 401,
    body: { error: 'this server needs an API key: send Authorization: Bearer <key>', code: 'unauthenticated' },
    headers: { 'www-authenticate': 'Bearer realm="trainer"' },
  },
  {
    error: new errors.Unauthenticated('this key is revoked'),
    name: 'Unauthenticated',
    status: 401,
    body: { error: 'this key is revoked', code: 'unauthenticated' },
    headers: { 'www-authenticate': 'Bearer realm="trainer"' },
  },
  {
    error: new errors.Forbidden('viewer', 'submit jobs'),
    name: 'Forbidden',
    status: 403,
    body: { error: 'a key with role viewer may not submit jobs', code: 'forbidden' },
  },
  {
    error: new errors.RateLimited('requests per key', 600, 12),
    name: 'RateLimited',
    status: 429,
    body: {
      error: 'rate limit exceeded: requests per key (at most 600 per minute); retry after 12 s',
      code: 'rate_limited',
    },
    headers: { 'retry-after': '12' },
  },
  {
    error: new errors.QuotaExceeded('active jobs', 5, 5),
    name: 'QuotaExceeded',
    status: 429,
    body: { error: 'quota exceeded: active jobs is 5 of at most 5', code: 'quota_exceeded' },
  },
  {
    error: new errors.ApiKeyNotFound('k1'),
    name: 'ApiKeyNotFound',
    status: 404,
    body: { error: 'API key k1 was not found', code: 'not_found' },
  },
  {
    error: new errors.SweepNotFound('s1'),
    name: 'SweepNotFound',
    status: 404,
    body: { error: 'sweep s1 was not found', code: 'not_found' },
  },
  {
    error: new errors.InvalidSweep(issues),
    name: 'InvalidSweep',
    status: 400,
    body: { error: 'invalid sweep spec: model.layers.0.units, epochs', code: 'invalid_sweep', issues },
  },
  {
    error: new errors.SweepAlreadyFinished('s1', 'cancelled'),
    name: 'SweepAlreadyFinished',
    status: 409,
    body: { error: 'sweep s1 has already been cancelled', code: 'sweep_finished' },
  },
  {
    error: new errors.SweepAlreadyFinished('s1', 'completed'),
    name: 'SweepAlreadyFinished',
    status: 409,
    body: { error: 'sweep s1 has already completed', code: 'sweep_finished' },
  },
  {
    error: new errors.WebhookNotFound('w1'),
    name: 'WebhookNotFound',
    status: 404,
    body: { error: 'webhook w1 was not found', code: 'not_found' },
  },
  {
    error: new errors.WebhookDeliveryNotFound('d1'),
    name: 'WebhookDeliveryNotFound',
    status: 404,
    body: { error: 'delivery d1 was not found', code: 'not_found' },
  },
  {
    error: new errors.WebhooksNotConfigured(),
    name: 'WebhooksNotConfigured',
    status: 503,
    body: {
      error: 'webhooks are off on this server: it needs WEBHOOK_SECRET_KEY to store their secrets',
      code: 'webhooks_not_configured',
    },
  },
];

describe('domain errors', () => {
  it('has a case here for every error class', () => {
    const classes = Object.entries(errors).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof errors.DomainError,
    );
    expect(new Set(cases.map((entry) => entry.name))).toEqual(new Set(classes.map(([name]) => name)));
  });

  it.each(cases)('$name is a named Error and DomainError of its own class', ({ error, name }) => {
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(errors.DomainError);
    expect(error).toBeInstanceOf((errors as Record<string, unknown>)[name] as new () => unknown);
    expect(error.name).toBe(name);
    expect(String(error)).toBe(`${name}: ${error.message}`);
    // No error is an instance of another error's class: the HTTP mapping tells them apart by class.
    const others = cases.filter((other) => other.name !== name).map((other) => other.error.constructor);
    for (const other of others) expect(error).not.toBeInstanceOf(other);
  });

  it('keeps the cause it is given', () => {
    const cause = new Error('refused');
    expect(new errors.DependencyUnavailable('queue', { cause }).cause).toBe(cause);
  });

  it('keeps the fields a caller reads', () => {
    expect(new errors.JobNotFound(['a1'])).toMatchObject({ jobIds: ['a1'] });
    expect(new errors.DependencyUnavailable('queue')).toMatchObject({ dependency: 'queue' });
    expect(new errors.RateLimited('r', 1, 9)).toMatchObject({ limit: 'r', max: 1, retryAfterSeconds: 9 });
    expect(new errors.DatasetInUse('d', ['a1'])).toMatchObject({ datasetName: 'd', jobIds: ['a1'] });
    expect(new errors.DatasetTooLarge('owner', 'm')).toMatchObject({ what: 'owner' });
    expect(new errors.SweepAlreadyFinished('s1', 'failed')).toMatchObject({ sweepId: 's1', status: 'failed' });
  });
});

describe('the HTTP answer of each domain error', () => {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  app.get<{ Params: { index: string } }>('/case/:index', (request) => {
    throw (cases[Number(request.params.index)] as (typeof cases)[number]).error;
  });

  it.each(cases.map((entry, index) => ({ ...entry, index })))(
    '$name answers $status',
    async ({ index, status, body, headers }) => {
      const response = await app.inject({ method: 'GET', url: `/case/${index}` });
      expect(response.statusCode).toBe(status);
      expect(response.json()).toEqual(body);
      expect(response.headers).toMatchObject(headers ?? {});
    },
  );
});
