import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { composeEnvironment, composeService, loadCompose } from './compose.js';
import { kubernetesProcess, type SecretValue } from './parity.js';
import { kubectlAvailable, render } from './render.js';

/** What the server makes of an environment: its artifact store and S3 settings, or a ConfigError. */
function artifactSettings(env: Map<string, string | SecretValue>) {
  // Values from Secrets are not in the manifests: stand-ins of the documented form.
  const standIns: Record<string, string> = {
    DATABASE_URL: 'postgresql://trainer@postgres:5432/trainer',
    REDIS_URL: 'redis://redis:6379',
    ADMIN_API_KEY: 'k'.repeat(32),
    WEBHOOK_SECRET_KEY: 'w'.repeat(32),
  };
  const values = Object.fromEntries(
    [...env].map(([name, value]) => [name, typeof value === 'string' ? value : (standIns[name] ?? 'from-a-secret')]),
  );
  const { ARTIFACT_STORE, S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, ARTIFACT_REDIRECTS } = loadConfig(values);
  return { ARTIFACT_STORE, S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, ARTIFACT_REDIRECTS };
}

describe('docker-compose.yml: the artifact store', () => {
  it('is Postgres by default, so `docker compose up` needs no object store', () => {
    const compose = loadCompose();
    for (const service of ['api', 'worker'])
      expect(artifactSettings(composeEnvironment(composeService(compose, service)))).toMatchObject({
        ARTIFACT_STORE: 'postgres',
      });
  });

  it('with the s3 profile is MinIO, whose one-shot creates the bucket ARTIFACT_STORE names', () => {
    const compose = loadCompose({ ARTIFACT_STORE: 's3://trainer/artifacts' });
    for (const service of ['api', 'worker']) {
      const environment = composeEnvironment(composeService(compose, service));
      expect(artifactSettings(environment)).toEqual({
        ARTIFACT_STORE: { bucket: 'trainer', prefix: 'artifacts' },
        S3_ENDPOINT: 'http://minio:9000',
        S3_REGION: 'us-east-1',
        S3_FORCE_PATH_STYLE: true,
        ARTIFACT_REDIRECTS: false,
      });
      // The server's credentials are MinIO's root account.
      const minio = composeEnvironment(composeService(compose, 'minio'));
      expect(environment.get('AWS_ACCESS_KEY_ID')).toBe(minio.get('MINIO_ROOT_USER'));
      expect(environment.get('AWS_SECRET_ACCESS_KEY')).toBe(minio.get('MINIO_ROOT_PASSWORD'));
    }
    const bucketMaker = composeService(compose, 'minio-bucket');
    expect(bucketMaker.profiles).toEqual(['s3']);
    expect(composeService(compose, 'minio').profiles).toEqual(['s3']);
    // Its command, with `mc` replaced by echo: the bucket it makes is ARTIFACT_STORE's.
    const [script = ''] = (bucketMaker.command ?? []) as string[];
    const shell = script.replaceAll('$$', '$').replace(/\bmc /g, 'echo mc ');
    const made = spawnSync('sh', ['-c', shell], {
      encoding: 'utf8',
      env: { ...Object.fromEntries(composeEnvironment(bucketMaker)), PATH: process.env.PATH },
    });
    expect(made.stdout).toMatch(/^mc mb --ignore-existing local\/trainer$/m);
  });
});

const kubectlMissing = kubectlAvailable() ? '' : ' (skipped: kubectl is not on PATH)';

describe.skipIf(kubectlMissing !== '')(`deploy/: the artifact store${kubectlMissing}`, () => {
  it.each([
    ['local', 'postgres'],
    ['production', { bucket: 'trainer-artifacts', prefix: 'production' }],
  ] as const)(
    'overlays/%s: the API and workers store artifacts in %j, with settings the server accepts',
    (overlay, store) => {
      const objects = render(`overlays/${overlay}`);
      for (const [deployment, container] of [
        ['trainer-api', 'api'],
        ['trainer-worker', 'worker'],
      ] as const) {
        const { env } = kubernetesProcess(objects, deployment, container);
        expect(artifactSettings(env).ARTIFACT_STORE).toEqual(store);
        // Credentials never sit in the ConfigMap: they come from the Secret (or the SDK's other sources);
        // a generated Secret's name has a hash after it.
        for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
          expect(env.get(name)).toMatchObject({ key: name });
          expect((env.get(name) as SecretValue).secret).toMatch(/^trainer-secrets(-\w+)?$/);
        }
      }
    },
  );
});
