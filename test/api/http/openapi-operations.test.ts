import { Validator } from '@seriousme/openapi-schema-validator';
import type { OpenAPIV3_1 } from 'openapi-types';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiTags } from '../../../src/api/http/openapi.js';
import { openApiDocument } from '../../../src/api/http/openapi-document.js';

type Operation = OpenAPIV3_1.OperationObject;

// The document of a server with every feature on, as the client package is generated from it.
describe('the OpenAPI document of every feature', () => {
  let document: OpenAPIV3_1.Document;
  let operations: [name: string, operation: Operation][];

  beforeAll(async () => {
    document = await openApiDocument();
    operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item ?? {}).map(([method, operation]): [string, Operation] => [
        `${method.toUpperCase()} ${path}`,
        operation as Operation,
      ]),
    );
  });

  it('is a valid OpenAPI 3.1 document listing the routes of datasets, sweeps, models and keys', async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(operations.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'POST /datasets',
        'POST /sweeps',
        'POST /jobs/{id}/predict',
        'POST /keys',
        'GET /whoami',
      ]),
    );
  });

  it('names every operation with an operationId of its own, for generated clients to name their functions', () => {
    const ids = operations.map(([name, operation]) => [name, operation.operationId] as const);
    expect(ids.filter(([, id]) => !id || !/^[a-z][A-Za-z]+$/.test(id))).toEqual([]);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
  });

  it('files every operation under one feature tag the document describes, and describes no unused tag', () => {
    const declared = (document.tags ?? []).map((tag) => tag.name);
    expect(declared).toEqual(apiTags.map((tag) => tag.name));
    expect(document.tags?.every((tag) => tag.description)).toBe(true);
    for (const [name, operation] of operations) {
      expect(operation.tags, name).toHaveLength(1);
      expect(declared, name).toContain(operation.tags?.[0]);
    }
    expect(new Set(operations.map(([, operation]) => operation.tags?.[0]))).toEqual(new Set(declared));
  });
});
