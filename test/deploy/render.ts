import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository's deploy/ folder. */
export const deployDirectory = fileURLToPath(new URL('../../deploy/', import.meta.url));

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rendered Kubernetes object; the schema test checks the rest of its shape. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
  spec?: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

interface HttpProbe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}

type Resources = Record<string, string | number>;

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  startupProbe?: HttpProbe;
  resources?: { requests?: Resources; limits?: Resources };
  securityContext?: SecurityContext;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}

export interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: SecurityContext;
    terminationGracePeriodSeconds?: number;
    nodeSelector?: Record<string, string>;
    volumes?: unknown[];
  };
}

export interface Workload extends KubeObject {
  spec: { replicas?: number; template: PodTemplate };
}

export interface ScaledObject extends KubeObject {
  spec: {
    scaleTargetRef: { name: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; metadata: Record<string, string> }[];
  };
}

/** Whether kubectl (with its built-in kustomize) can be run here. */
export function kubectlAvailable(): boolean {
  return !spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error;
}

/** `kubectl kustomize deploy/<path>`, as objects. */
export function render(path: string): KubeObject[] {
  const result = spawnSync('kubectl', ['kustomize', `${deployDirectory}${path}`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize deploy/${path} failed:\n${result.stderr}`);
  // Shapes are checked against the Kubernetes and KEDA schemas by manifests.test.ts.
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as KubeObject);
}

/** The one object of `kind` named `name`; throws naming what is missing. */
export function find<T extends KubeObject = KubeObject>(objects: readonly KubeObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found as T;
}

/** A container of a Deployment or Job's pod template. */
export function containerOf(workload: Workload, name: string): Container {
  const container = workload.spec.template.spec.containers.find((candidate) => candidate.name === name);
  if (!container) throw new Error(`${workload.kind} ${workload.metadata.name} has no container ${name}`);
  return container;
}
