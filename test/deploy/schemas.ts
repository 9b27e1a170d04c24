import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { deployDirectory, type KubeObject } from './render.js';

// The schemas vendored in deploy/schemas (README.md there says from which releases): Kubernetes 1.32's
// OpenAPI definitions, KEDA's ScaledObject CRD and the Compose specification.

type Schema = { [keyword: string]: unknown };

const readSchema = (file: string): Schema =>
  JSON.parse(readFileSync(`${deployDirectory}schemas/${file}`, 'utf8')) as Schema;

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null;

/**
 * A schema that refuses unknown fields, as `kubectl apply` (strict field validation) and the API
 * server (pruning, for custom resources) do: an object with declared properties gets
 * `additionalProperties: false` unless it says it keeps unknown fields.
 */
function strict(schema: unknown): unknown {
  if (!isSchema(schema)) return schema;
  const copy: Schema = { ...schema };
  const mapOfSchemas = (value: unknown) =>
    isSchema(value) ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, strict(inner)])) : value;
  for (const keyword of ['properties', 'definitions']) if (keyword in copy) copy[keyword] = mapOfSchemas(copy[keyword]);
  for (const keyword of ['items', 'additionalProperties', 'not'])
    if (keyword in copy) copy[keyword] = strict(copy[keyword]);
  for (const keyword of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(copy[keyword])) copy[keyword] = (copy[keyword] as unknown[]).map(strict);
  if ('properties' in copy && !('additionalProperties' in copy) && !copy['x-kubernetes-preserve-unknown-fields'])
    copy.additionalProperties = false;
  return copy;
}

// Kubernetes declares these two as strings, but its decoders take numbers as well (`cpu: 2`, `port: 80`).
const quantity = {
  anyOf: [{ type: 'string', pattern: '^[+-]?[0-9.]+([eEinumkKMGTP]*[-+]?[0-9]*)$' }, { type: 'number' }],
};
const intOrString = { anyOf: [{ type: 'integer' }, { type: 'string' }] };

const annotations = [
  'x-kubernetes-group-version-kind',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-unions',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  // CEL rules need the API server to evaluate; KEDA's admission webhook checks more of the same.
  'x-kubernetes-validations',
];

/** Lists that are maps by some keys (containers by name, env by name, ports by number and protocol). */
function uniqueByKeys(keys: string[], items: unknown[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    const tuple = JSON.stringify(keys.map((key) => (isSchema(item) ? (item[key] ?? null) : null)));
    if (seen.has(tuple)) return false;
    seen.add(tuple);
  }
  return true;
}

function kubernetesAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strictTypes: false, strictTuples: false });
  for (const keyword of annotations) ajv.addKeyword({ keyword });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    type: 'array',
    schemaType: 'array',
    error: { message: ({ schema }) => `has two entries with the same ${String(schema)}` },
    validate: uniqueByKeys,
  });
  const int32 = (value: number) => Number.isInteger(value) && Math.abs(value) <= 2 ** 31;
  ajv.addFormat('int32', { type: 'number', validate: int32 });
  ajv.addFormat('int64', { type: 'number', validate: Number.isInteger });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('int-or-string', { type: 'string', validate: () => true });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
  return ajv;
}

const objectMeta = 'kubernetes#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** A validator for every kind deploy/schemas has, by `<apiVersion> <kind>`. */
function kubernetesValidators(): Map<string, ValidateFunction> {
  const ajv = kubernetesAjv();
  const { definitions } = readSchema('kubernetes-1.32.json') as { definitions: Record<string, Schema> };
  definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = quantity;
  definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = intOrString;
  ajv.addSchema(strict({ $id: 'kubernetes', definitions }) as Schema);
  const validators = new Map<string, ValidateFunction>();
  for (const [name, definition] of Object.entries(definitions)) {
    const kinds = (definition['x-kubernetes-group-version-kind'] ?? []) as {
      group: string;
      version: string;
      kind: string;
    }[];
    for (const { group, version, kind } of kinds) {
      if (kind.endsWith('List') || kind === 'WatchEvent' || kind === 'DeleteOptions') continue;
      const apiVersion = group === '' ? version : `${group}/${version}`;
      validators.set(`${apiVersion} ${kind}`, ajv.compile({ $ref: `kubernetes#/definitions/${name}` }));
    }
  }
  const keda = readSchema('keda-2.17-scaledobject.json') as {
    group: string;
    version: string;
    kind: string;
    schema: Schema;
  };
  validators.set(
    `${keda.group}/${keda.version} ${keda.kind}`,
    ajv.compile({ allOf: [strict(keda.schema), { properties: { metadata: { $ref: objectMeta } } }] }),
  );
  return validators;
}

let validators: Map<string, ValidateFunction> | undefined;

function describe(errors: readonly ErrorObject[]): string[] {
  return errors.map((error) => {
    const extra = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
    return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
  });
}

/** What is wrong with a rendered object by its kind's schema; [] when nothing is. */
export function schemaProblems(object: KubeObject): string[] {
  validators ??= kubernetesValidators();
  const validate = validators.get(`${object.apiVersion} ${object.kind}`);
  const label = `${object.kind} ${object.metadata?.name ?? '(no name)'}`;
  if (!validate)
    return [
      `${label}: no schema for ${object.apiVersion} ${object.kind} (add it to scripts/vendor-deploy-schemas.mjs)`,
    ];
  return validate(object) ? [] : describe(validate.errors ?? []).map((problem) => `${label}: ${problem}`);
}

let composeValidator: ValidateFunction | undefined;

/** What is wrong with a compose file by the Compose specification; [] when nothing is. */
export function composeSchemaProblems(document: unknown): string[] {
  if (!composeValidator) {
    // The specification's own meta-schema URL is not the one Ajv registers draft-07 under.
    const { $schema: _metaSchema, ...schema } = readSchema('compose-spec.json');
    composeValidator = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
  }
  return composeValidator(document) ? [] : describe(composeValidator.errors ?? []);
}
