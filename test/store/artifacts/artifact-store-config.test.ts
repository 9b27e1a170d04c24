import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

/** The message of the ConfigError `env` gives. */
function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('artifact store configuration', () => {
  it('stores artifacts in Postgres unless told, without redirects', () => {
    expect(loadConfig({})).toMatchObject({
      ARTIFACT_STORE: 'postgres',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: false,
      ARTIFACT_REDIRECTS: false,
    });
  });

  it('reads s3://bucket/prefix as a bucket and a key prefix, a trailing slash or none', () => {
    const config = loadConfig({
      ARTIFACT_STORE: 's3://trainer-artifacts/prod/models/',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
      ARTIFACT_REDIRECTS: 'true',
    });
    expect(config).toMatchObject({
      ARTIFACT_STORE: { bucket: 'trainer-artifacts', prefix: 'prod/models' },
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: true,
      ARTIFACT_REDIRECTS: true,
    });
    expect(loadConfig({ ARTIFACT_STORE: 's3://bucket-only' }).ARTIFACT_STORE).toEqual({
      bucket: 'bucket-only',
      prefix: '',
    });
  });

  it('names each bad setting and why', () => {
    expect(problemsOf({ ARTIFACT_STORE: 'minio' })).toMatch(
      /ARTIFACT_STORE="minio": must be "postgres" or s3:\/\/bucket\/prefix/,
    );
    expect(problemsOf({ ARTIFACT_STORE: 's3://Bad_Bucket/x' })).toMatch(
      /ARTIFACT_STORE=.*bucket "Bad_Bucket" is not a valid S3 bucket name/,
    );
    expect(problemsOf({ ARTIFACT_STORE: 's3://bucket/../etc' })).toMatch(
      /ARTIFACT_STORE=.*prefix "..\/etc" must be path segments/,
    );
    expect(problemsOf({ ARTIFACT_STORE: 's3://bucket/a//b' })).toMatch(/prefix "a\/\/b"/);
    expect(problemsOf({ S3_ENDPOINT: 'minio:9000' })).toMatch(/S3_ENDPOINT="minio:9000": must be an http\(s\) URL/);
    expect(problemsOf({ S3_FORCE_PATH_STYLE: 'yes' })).toMatch(/S3_FORCE_PATH_STYLE="yes": must be true or false/);
    expect(problemsOf({ ARTIFACT_REDIRECTS: '1' })).toMatch(/ARTIFACT_REDIRECTS="1": must be true or false/);
  });
});
