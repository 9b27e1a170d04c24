import { composeEnvironment, composeService, type ComposeFile } from './compose.js';
import { containerOf, find, type KubeObject, type Workload } from './render.js';

/**
 * Where a deployment's Postgres, Redis and object store are and how to reach them: docker-compose.yml
 * and each overlay give them different values (in Kubernetes, often from a Secret), but both pass them.
 * Every other setting must be the same in both.
 */
export const connectionSettings: ReadonlySet<string> = new Set([
  'DATABASE_URL',
  'REDIS_URL',
  'ADMIN_API_KEY',
  'WEBHOOK_SECRET_KEY',
  'ARTIFACT_STORE',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_FORCE_PATH_STYLE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
]);

/** A value taken from a Secret, which the manifests do not show. */
export interface SecretValue {
  secret: string;
  key: string;
}

/** What a trainer process runs: its image, its command and its environment. */
export interface ProcessSpec {
  where: string;
  image: string;
  command: string[];
  env: Map<string, string | SecretValue>;
}

export function composeProcess(compose: ComposeFile, serviceName: string): ProcessSpec {
  const service = composeService(compose, serviceName);
  const { command = [] } = service;
  return {
    where: `docker-compose.yml's ${serviceName}`,
    image: service.image ?? '',
    command: typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : command,
    env: composeEnvironment(service),
  };
}

/** The environment a container gets: its envFrom ConfigMaps first, then its own env, which wins. */
function containerEnvironment(objects: readonly KubeObject[], workload: Workload, containerName: string) {
  const container = containerOf(workload, containerName);
  const env = new Map<string, string | SecretValue>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error(`${workload.metadata.name}: envFrom other than a ConfigMap hides names`);
    for (const [name, value] of Object.entries(find(objects, 'ConfigMap', source.configMapRef.name).data ?? {}))
      env.set(name, value);
  }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (value !== undefined) env.set(name, value);
    else if (valueFrom?.secretKeyRef)
      env.set(name, { secret: valueFrom.secretKeyRef.name, key: valueFrom.secretKeyRef.key });
    else if (valueFrom?.configMapKeyRef)
      env.set(
        name,
        find(objects, 'ConfigMap', valueFrom.configMapKeyRef.name).data?.[valueFrom.configMapKeyRef.key] ?? '',
      );
    else throw new Error(`${workload.metadata.name}: ${name} comes from neither a value, a Secret nor a ConfigMap`);
  }
  return { container, env };
}

export function kubernetesProcess(
  objects: readonly KubeObject[],
  deploymentName: string,
  containerName: string,
): ProcessSpec {
  const workload = find<Workload>(objects, 'Deployment', deploymentName);
  const { container, env } = containerEnvironment(objects, workload, containerName);
  return {
    where: `Deployment ${deploymentName}`,
    image: container.image,
    command: [...(container.command ?? []), ...(container.args ?? [])],
    env,
  };
}

/** An image reference without its registry, path, tag and digest: `trainer-api`. */
export function imageName(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? reference;
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return lastSegment.split(':')[0] ?? lastSegment;
}

const shown = (value: string | SecretValue) =>
  typeof value === 'string' ? JSON.stringify(value) : `Secret ${value.secret}'s ${value.key}`;

function environmentDrift(compose: ProcessSpec, kubernetes: ProcessSpec): string[] {
  const problems: string[] = [];
  const names = [...new Set([...compose.env.keys(), ...kubernetes.env.keys()])].sort();
  for (const name of names) {
    const [ours, theirs] = [compose.env.get(name), kubernetes.env.get(name)];
    if (ours === undefined || theirs === undefined) {
      const [has, lacks] = ours === undefined ? [kubernetes, compose] : [compose, kubernetes];
      problems.push(`${name} is set in ${has.where} but not in ${lacks.where}`);
    } else if (!connectionSettings.has(name)) {
      if (typeof theirs !== 'string')
        problems.push(`${name} comes from ${shown(theirs)} in ${kubernetes.where}, but only connection settings may`);
      else if (ours !== theirs)
        problems.push(`${name} is ${shown(ours)} in ${compose.where} but ${shown(theirs)} in ${kubernetes.where}`);
    }
  }
  return problems;
}

/**
 * How the process a Deployment runs differs from the compose service's, as sentences; [] when they
 * run the same image, command and settings. `images: 'exact'` compares whole references (an overlay
 * of the images compose builds), `'name'` only the image names (an overlay that pushes them to a registry).
 */
export function drift(compose: ProcessSpec, kubernetes: ProcessSpec, images: 'exact' | 'name'): string[] {
  const problems = environmentDrift(compose, kubernetes);
  const [ourImage, theirImage] =
    images === 'exact' ? [compose.image, kubernetes.image] : [imageName(compose.image), imageName(kubernetes.image)];
  if (ourImage !== theirImage)
    problems.push(`${compose.where} runs image ${compose.image} but ${kubernetes.where} runs ${kubernetes.image}`);
  if (compose.command.join(' ') !== kubernetes.command.join(' '))
    problems.push(
      `${compose.where} runs "${compose.command.join(' ')}" but ${kubernetes.where} "${kubernetes.command.join(' ')}"`,
    );
  return problems;
}
