import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { authMode, ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has local defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/trainer',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      MAX_PARAMETERS: 20_000_000,
    });
    expect(config.WORKER_CONCURRENCY).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lends idle training threads unless told not to, and rejects anything but true or false', () => {
    expect(loadConfig({}).WORKER_LEND_IDLE_THREADS).toBe(true);
    expect(loadConfig({ WORKER_LEND_IDLE_THREADS: 'false' }).WORKER_LEND_IDLE_THREADS).toBe(false);
    expect(() => loadConfig({ WORKER_LEND_IDLE_THREADS: 'sometimes' })).toThrow(/WORKER_LEND_IDLE_THREADS="sometimes"/);
  });

  it('names every bad variable and why', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'eighty', WORKER_CONCURRENCY: '0', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toMatch(/PORT="eighty"/);
    expect(message).toMatch(/WORKER_CONCURRENCY="0": .*>=1/);
    expect(message).toMatch(/DATABASE_URL="mysql:\/\/x": must be a postgresql:\/\/ URL/);
  });

  it('stops a process with exit code 1 and a readable message when a variable is bad', () => {
    for (const entry of ['dist/main/api.js', 'dist/main/worker.js', 'dist/main/all.js']) {
      const result = spawnSync(process.execPath, [entry], {
        env: { ...process.env, PORT: '99999', LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/invalid configuration:\n\s+- PORT="99999": .*65535/);
      expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
    }
  });
});

describe('access control configuration', () => {
  it('defaults AUTH to off on a loopback address and to required on any other', () => {
    expect(authMode(loadConfig({}))).toBe('off');
    expect(authMode(loadConfig({ HOST: '127.0.0.1' }))).toBe('off');
    expect(authMode(loadConfig({ HOST: 'localhost' }))).toBe('off');
    expect(authMode(loadConfig({ HOST: '::1' }))).toBe('off');
    expect(authMode(loadConfig({ HOST: '0.0.0.0' }))).toBe('required');
    expect(authMode(loadConfig({ HOST: '192.168.1.5' }))).toBe('required');
    expect(authMode(loadConfig({ HOST: '0.0.0.0', AUTH: 'off' }))).toBe('off');
    expect(authMode(loadConfig({ HOST: '127.0.0.1', AUTH: 'required' }))).toBe('required');
  });

  it('refuses an ADMIN_API_KEY shorter than 32 characters and CORS_ORIGINS that are not origins', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY=.*at least 32 characters/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example, nonsense' })).toThrow(ConfigError);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://b.example:8080' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://b.example:8080',
    ]);
  });

  it('has the limits of the issue by default', () => {
    expect(loadConfig({})).toMatchObject({
      RATE_LIMIT_REQUESTS_PER_MINUTE: 600,
      RATE_LIMIT_SUBMISSIONS_PER_MINUTE: 60,
      MAX_ACTIVE_JOBS_PER_OWNER: 20,
      CORS_ORIGINS: [],
    });
  });
});
