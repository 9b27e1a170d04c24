// Writes the schemas test/deploy checks the manifests and the compose file against, into deploy/schemas/,
// from upstream files named on the command line (deploy/schemas/README.md says which releases):
//   node scripts/vendor-deploy-schemas.mjs <kubernetes swagger.json> <keda.sh_scaledobjects.yaml> <compose-spec.json>
// Kubernetes' document describes every API of a release (3 MB); only the kinds deploy/ uses, and what
// they reference, are kept, without descriptions. Add a kind to `kinds` when deploy/ starts using it.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const kinds = [
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'Namespace'],
  ['', 'v1', 'Secret'],
  ['', 'v1', 'Service'],
  ['apps', 'v1', 'Deployment'],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler'],
  ['batch', 'v1', 'Job'],
  ['networking.k8s.io', 'v1', 'Ingress'],
  ['policy', 'v1', 'PodDisruptionBudget'],
];

const [swaggerPath, scaledObjectCrdPath, composeSpecPath] = process.argv.slice(2);
if (!composeSpecPath) {
  console.error('usage: vendor-deploy-schemas.mjs <swagger.json> <keda.sh_scaledobjects.yaml> <compose-spec.json>');
  process.exit(2);
}

/** A schema without its prose: descriptions are most of the bytes and none of the rules. */
function withoutDescriptions(schema) {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === 'description' ? undefined : value)));
}

function kubernetesSchemas(swagger) {
  const all = swagger.definitions;
  const gvkOf = (definition) => definition['x-kubernetes-group-version-kind'] ?? [];
  const roots = kinds.map(([group, version, kind]) => {
    const name = Object.keys(all).find((candidate) =>
      gvkOf(all[candidate]).some((gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind),
    );
    if (!name) throw new Error(`no definition for ${group}/${version} ${kind}`);
    return name;
  });
  const kept = {};
  const visit = (name) => {
    if (kept[name]) return;
    kept[name] = withoutDescriptions(all[name]);
    JSON.stringify(all[name], (key, value) => {
      if (key === '$ref') visit(value.replace('#/definitions/', ''));
      return value;
    });
  };
  roots.forEach(visit);
  const sorted = Object.fromEntries(
    Object.keys(kept)
      .sort()
      .map((name) => [name, kept[name]]),
  );
  return { info: swagger.info, definitions: sorted };
}

function scaledObjectSchema(crd) {
  const served = crd.spec.versions.find((version) => version.served && version.storage);
  return {
    group: crd.spec.group,
    version: served.name,
    kind: crd.spec.names.kind,
    schema: withoutDescriptions(served.schema.openAPIV3Schema),
  };
}

const write = (file, value) =>
  writeFileSync(new URL(`../deploy/schemas/${file}`, import.meta.url), `${JSON.stringify(value, null, 2)}\n`);
write('kubernetes-1.32.json', kubernetesSchemas(JSON.parse(readFileSync(swaggerPath, 'utf8'))));
write('keda-2.17-scaledobject.json', scaledObjectSchema(parse(readFileSync(scaledObjectCrdPath, 'utf8'))));
write('compose-spec.json', JSON.parse(readFileSync(composeSpecPath, 'utf8')));
