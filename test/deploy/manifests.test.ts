import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composeEnvironment, composeService, durationMs, loadCompose } from './compose.js';
import { composeProcess, drift, kubernetesProcess } from './parity.js';
import {
  containerOf,
  find,
  kubectlAvailable,
  render,
  type KubeObject,
  type ScaledObject,
  type Workload,
} from './render.js';
import { prometheusTrigger, workerScalerQuery } from './scaler.js';
import { composeSchemaProblems, schemaProblems } from './schemas.js';

/** Each trainer process: its compose service, and its Deployment and container in deploy/. */
const roles = {
  api: { service: 'api', deployment: 'trainer-api', container: 'api' },
  worker: { service: 'worker', deployment: 'trainer-worker', container: 'worker' },
  'worker-gpu': { service: 'worker-gpu', deployment: 'trainer-worker-gpu', container: 'worker' },
} as const;
type Role = keyof typeof roles;

/** The overlays, the processes each runs, and how their images compare with the ones compose builds. */
const overlays = {
  local: { roles: ['api', 'worker'], images: 'exact' },
  production: { roles: ['api', 'worker'], images: 'name' },
  gpu: { roles: ['api', 'worker', 'worker-gpu'], images: 'name' },
} satisfies Record<string, { roles: Role[]; images: 'exact' | 'name' }>;
type Overlay = keyof typeof overlays;
const overlayNames = Object.keys(overlays) as Overlay[];
const rolesOf = (overlay: Overlay) => overlays[overlay].roles.map((role): [Overlay, Role] => [overlay, role]);

const renders = new Map<Overlay, KubeObject[]>();
const rendered = (overlay: Overlay): KubeObject[] => {
  if (!renders.has(overlay)) renders.set(overlay, render(`overlays/${overlay}`));
  return renders.get(overlay) ?? [];
};

const workloadsOf = (objects: readonly KubeObject[]) =>
  objects.filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'Job');
const isTrainer = (object: KubeObject) => object.metadata.labels?.['app.kubernetes.io/name'] === 'trainer';
const settingsOf = (objects: readonly KubeObject[], role: Role) =>
  kubernetesProcess(objects, roles[role].deployment, roles[role].container).env;
const numberSetting = (settings: Map<string, unknown>, name: string, fallback?: number) => {
  const value = settings.get(name) ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return Number(value);
};

/** Settings that are keys: given by whoever runs compose, and from the Secret trainer-secrets in deploy/. */
const keySettings = ['ADMIN_API_KEY', 'WEBHOOK_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY'] as const;

describe('docker-compose.yml', () => {
  it('is valid by the Compose specification', () => {
    expect(composeSchemaProblems(loadCompose())).toEqual([]);
  });

  it('builds Dockerfile targets that exist, on a maintained Node.js LTS', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const targets = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((match) => match[1]));
    for (const [name, service] of Object.entries(loadCompose().services)) {
      if (typeof service.build !== 'object') continue;
      expect(targets, `${name} builds target ${service.build.target}`).toContain(service.build.target);
    }
    const nodeMajor = Number(/^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile)?.[1]);
    // Even majors become LTS; 20 left maintenance in April 2026.
    expect(nodeMajor % 2).toBe(0);
    expect(nodeMajor).toBeGreaterThanOrEqual(22);
  });

  it('passes every process the keys of the environment it is started in, and none of its own', () => {
    const given = { ADMIN_API_KEY: 'a'.repeat(40), WEBHOOK_SECRET_KEY: 'w'.repeat(40) };
    for (const name of Object.values(roles).map((role) => role.service)) {
      const started = composeEnvironment(composeService(loadCompose(given), name));
      const bare = composeEnvironment(composeService(loadCompose(), name));
      for (const [key, value] of Object.entries(given)) {
        expect(started.get(key), `${name}'s ${key}`).toBe(value);
        expect(bare.get(key), `${name}'s ${key}`).toBe('');
      }
    }
  });

  it('gives workers longer to stop than SHUTDOWN_TIMEOUT_MS, for their checkpoint hand-back', () => {
    for (const name of ['worker', 'worker-gpu']) {
      const service = composeService(loadCompose(), name);
      const shutdownMs = Number(composeEnvironment(service).get('SHUTDOWN_TIMEOUT_MS'));
      expect(durationMs(service.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(shutdownMs + 5000);
    }
  });
});

const kubectlMissing = kubectlAvailable() ? '' : ' (skipped: kubectl is not on PATH; kubectl 1.32+ renders deploy/)';
if (kubectlMissing) console.warn(`test/deploy/manifests.test.ts: deploy/ is not checked${kubectlMissing}`);

describe.skipIf(kubectlMissing !== '')(`deploy/, rendered by kubectl kustomize${kubectlMissing}`, () => {
  it.each(overlayNames)('overlays/%s: every object is valid by the Kubernetes 1.32 and KEDA schemas', (overlay) => {
    const objects = rendered(overlay);
    expect(objects.length).toBeGreaterThan(5);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('the schema check refuses an unknown field, a wrong type and a duplicate entry', () => {
    const worker = structuredClone(find<Workload>(rendered('gpu'), 'Deployment', 'trainer-worker'));
    const container = containerOf(worker, 'worker');
    Object.assign(container, { imagePullPolicyy: 'Always' });
    container.env?.push({ name: 'WORKER_CONCURRENCY', value: '4' });
    Object.assign(worker.spec, { replicas: '2' });
    const scaler = structuredClone(find<ScaledObject>(rendered('gpu'), 'ScaledObject', 'trainer-worker'));
    Object.assign(scaler.spec, { minReplicas: 1 });
    expect(schemaProblems(worker)).toEqual([
      'Deployment trainer-worker: /spec/replicas must be integer',
      'Deployment trainer-worker: /spec/template/spec/containers/0 must NOT have additional properties (imagePullPolicyy)',
      'Deployment trainer-worker: /spec/template/spec/containers/0/env has two entries with the same name',
    ]);
    expect(schemaProblems(scaler)).toEqual([
      'ScaledObject trainer-worker: /spec must NOT have additional properties (minReplicas)',
    ]);
  });

  it.each(overlayNames.flatMap(rolesOf))(
    'overlays/%s: the %s runs the image, command and settings docker-compose.yml does',
    (overlay, role) => {
      const { service, deployment, container } = roles[role];
      const ours = composeProcess(loadCompose(), service);
      const theirs = kubernetesProcess(rendered(overlay), deployment, container);
      expect(drift(ours, theirs, overlays[overlay].images)).toEqual([]);
    },
  );

  it.each(overlayNames.flatMap(rolesOf))(
    'overlays/%s: the %s takes its keys from the Secret trainer-secrets, never from a value in deploy/',
    (overlay, role) => {
      const settings = settingsOf(rendered(overlay), role);
      // The local overlay generates the Secret, with a hash in its name.
      for (const key of keySettings) {
        const value = settings.get(key);
        expect(typeof value === 'object' ? value : `the value ${value}`, key).toMatchObject({ key });
        expect(typeof value === 'object' && value.secret, key).toMatch(/^trainer-secrets(-\w+)?$/);
      }
    },
  );

  it('reports a setting, a variable or an image that drifted between docker-compose.yml and deploy/', () => {
    const objects = rendered('production');
    const compose = loadCompose();
    const worker = kubernetesProcess(objects, 'trainer-worker', 'worker');
    const changed = structuredClone(compose);
    Object.assign(composeService(changed, 'worker'), {
      environment: {
        ...Object.fromEntries(composeEnvironment(composeService(compose, 'worker'))),
        WORKER_CONCURRENCY: '4',
        STEP_FLUSH_MS: '100',
      },
      image: 'trainer:latest',
    });
    expect(drift(composeProcess(changed, 'worker'), worker, 'name')).toEqual([
      "STEP_FLUSH_MS is set in docker-compose.yml's worker but not in Deployment trainer-worker",
      'WORKER_CONCURRENCY is "4" in docker-compose.yml\'s worker but "2" in Deployment trainer-worker',
      "docker-compose.yml's worker runs image trainer:latest but Deployment trainer-worker runs registry.example.com/trainer/trainer-worker:0.1.0",
    ]);

    const edited = structuredClone(objects);
    const settings = edited.find((object) => object.kind === 'ConfigMap');
    Object.assign(settings?.data ?? {}, { LOG_LEVEL: 'debug' });
    expect(drift(composeProcess(compose, 'api'), kubernetesProcess(edited, 'trainer-api', 'api'), 'name')).toEqual([
      'LOG_LEVEL is "info" in docker-compose.yml\'s api but "debug" in Deployment trainer-api',
    ]);
  });

  it.each(overlayNames)('overlays/%s: API, workers and the migration run one release of the images', (overlay) => {
    const images = workloadsOf(rendered(overlay))
      .filter(isTrainer)
      .flatMap((workload) => workload.spec.template.spec.containers.map((container) => container.image));
    const tags = new Set(images.map((image) => image.slice(image.lastIndexOf(':') + 1)));
    expect(images.length).toBeGreaterThanOrEqual(3);
    expect([...tags]).toHaveLength(1);
    const api = containerOf(find<Workload>(rendered(overlay), 'Deployment', 'trainer-api'), 'api');
    const migrate = containerOf(find<Workload>(rendered(overlay), 'Job', 'trainer-migrate'), 'migrate');
    expect(migrate.image).toBe(api.image);
    expect(migrate.command).toEqual(['node', '--disable-proto=delete', 'dist/main/migrate.js']);
    // Every trainer process starts without Object.prototype.__proto__, as the scripts start them.
    for (const workload of workloadsOf(rendered(overlay)).filter(isTrainer))
      for (const container of workload.spec.template.spec.containers)
        expect(container.command?.slice(0, 2)).toEqual(['node', '--disable-proto=delete']);
  });

  it.each(overlayNames)(
    'overlays/%s: the API is probed, served and scraped on the ports its settings name',
    (overlay) => {
      const objects = rendered(overlay);
      const deployment = find<Workload>(objects, 'Deployment', 'trainer-api');
      const api = containerOf(deployment, 'api');
      const settings = settingsOf(objects, 'api');
      const port = (name: string) => api.ports?.find((candidate) => candidate.name === name)?.containerPort;
      expect(port('http')).toBe(numberSetting(settings, 'PORT'));
      expect(port('metrics')).toBe(numberSetting(settings, 'METRICS_PORT'));
      expect(deployment.spec.template.metadata?.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(numberSetting(settings, 'METRICS_PORT')),
        'prometheus.io/path': '/metrics',
      });
      // Liveness must not fail while Postgres or Redis is down, which /health reports with a 503.
      expect(api.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(api.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(api.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
      const ingress = find(objects, 'Ingress', 'trainer-api');
      const timeouts = ['proxy-read-timeout', 'proxy-send-timeout'].map((name) =>
        Number(ingress.metadata.annotations?.[`nginx.ingress.kubernetes.io/${name}`]),
      );
      expect(Math.min(...timeouts)).toBeGreaterThanOrEqual(3600);
    },
  );

  it.each(overlayNames)('overlays/%s: every trainer pod gets longer to stop than it takes', (overlay) => {
    const objects = rendered(overlay);
    for (const workload of workloadsOf(objects).filter((object) => object.kind === 'Deployment' && isTrainer(object))) {
      const role = Object.entries(roles).find(
        ([, { deployment }]) => deployment === workload.metadata.name,
      )?.[0] as Role;
      const shutdownMs = numberSetting(settingsOf(objects, role), 'SHUTDOWN_TIMEOUT_MS', 10_000);
      const preStop = containerOf(workload, roles[role].container).lifecycle?.preStop?.sleep?.seconds ?? 0;
      const graceMs = (workload.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      expect(graceMs, workload.metadata.name).toBeGreaterThanOrEqual(preStop * 1000 + shutdownMs + 5000);
    }
  });

  it.each(['production', 'gpu'] as const)(
    'overlays/%s: KEDA scales workers on their queue, WORKER_CONCURRENCY jobs each',
    (overlay) => {
      const objects = rendered(overlay);
      const scaler = find<ScaledObject>(objects, 'ScaledObject', 'trainer-worker');
      expect(find(objects, 'Deployment', scaler.spec.scaleTargetRef.name).metadata.name).toBe('trainer-worker');
      const query = workerScalerQuery(objects);
      expect(query.metric).toBe('trainer_queue_messages');
      expect(query.states).toEqual(expect.arrayContaining(['waiting', 'active', 'delayed']));
      expect(query.states).not.toContain('failed');
      expect(query.namespace).toBe(scaler.metadata.namespace);
      const threshold = Number(prometheusTrigger(scaler).threshold);
      expect(threshold).toBe(numberSetting(settingsOf(objects, 'worker'), 'WORKER_CONCURRENCY'));
      expect(scaler.spec.minReplicaCount).toBe(0);
      expect(scaler.spec.maxReplicaCount).toBeGreaterThan(1);
      // KEDA owns the count: a replicas field would reset it at every apply.
      expect(find<Workload>(objects, 'Deployment', 'trainer-worker').spec.replicas).toBeUndefined();
    },
  );

  it('overlays/gpu: GPU workers run on GPU nodes, one GPU each, like the CPU workers otherwise', () => {
    const objects = rendered('gpu');
    const gpu = find<Workload>(objects, 'Deployment', 'trainer-worker-gpu');
    const cpu = find<Workload>(objects, 'Deployment', 'trainer-worker');
    const container = containerOf(gpu, 'worker');
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(gpu.spec.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    const settings = settingsOf(objects, 'worker-gpu');
    expect(settings.get('WORKER_ACCELERATOR')).toBe('gpu');
    expect(settings.get('TRAINING_BACKEND')).toBe('tensorflow');
    expect(settings.get('TRAINING_QUEUE_GPU')).toBe('training-gpu');
    const shared = (workload: Workload) => ({
      pod: workload.spec.template.spec.securityContext,
      container: containerOf(workload, 'worker').securityContext,
      grace: workload.spec.template.spec.terminationGracePeriodSeconds,
    });
    expect(shared(gpu)).toEqual(shared(cpu));
  });

  it.each(overlayNames)(
    'overlays/%s: trainer containers run as non-root on a read-only root, with resources',
    (overlay) => {
      for (const workload of workloadsOf(rendered(overlay)).filter(isTrainer)) {
        expect(workload.spec.template.spec.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
        for (const container of workload.spec.template.spec.containers) {
          expect(container.securityContext, workload.metadata.name).toMatchObject({
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources?.requests, workload.metadata.name).toHaveProperty('cpu');
          expect(container.resources?.requests, workload.metadata.name).toHaveProperty('memory');
          expect(container.resources?.limits, workload.metadata.name).toHaveProperty('memory');
        }
      }
    },
  );

  it.each(overlayNames)(
    'overlays/%s: migrations run as a hook before install and upgrade, in the namespace',
    (overlay) => {
      const objects = rendered(overlay);
      expect(find(objects, 'Job', 'trainer-migrate').metadata.annotations).toMatchObject({
        'argocd.argoproj.io/hook': 'PreSync',
        'helm.sh/hook': 'pre-install,pre-upgrade',
      });
      const outside = objects.filter(
        (object) => object.kind !== 'Namespace' && object.metadata.namespace !== 'trainer',
      );
      expect(outside.map((object) => `${object.kind} ${object.metadata.name}`)).toEqual([]);
    },
  );
});
