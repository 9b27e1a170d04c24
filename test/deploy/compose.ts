import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const composePath = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  profiles?: string[];
  stop_grace_period?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/**
 * `${NAME}`, `${NAME:-default}` and `${NAME-default}` as Compose substitutes them from `environment`,
 * and `$$` as a literal `$`. The file's defaults are what `docker compose up` runs with nothing set.
 */
export function interpolate(text: string, environment: Readonly<Record<string, string>> = {}): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (match, name?: string, operator?: string, fallback?: string) => {
      if (name === undefined) return '$';
      const value = environment[name];
      if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
      if (operator === '-') return value ?? fallback ?? '';
      return value ?? '';
    },
  );
}

function interpolateAll(value: unknown, environment: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return interpolate(value, environment);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, environment));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, interpolateAll(inner, environment)]));
  return value;
}

/** docker-compose.yml with its merge keys resolved and its variables substituted from `environment`. */
export function loadCompose(environment: Readonly<Record<string, string>> = {}): ComposeFile {
  const document: unknown = parse(readFileSync(composePath, 'utf8'), { merge: true });
  // Checked against the Compose specification by manifests.test.ts.
  return interpolateAll(document, environment) as ComposeFile;
}

/** A service's environment as names and strings, whichever form the file uses. */
export function composeEnvironment(service: ComposeService): Map<string, string> {
  const { environment = {} } = service;
  const entries = Array.isArray(environment)
    ? environment.map((entry): [string, string] => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      })
    : Object.entries(environment).map(([name, value]): [string, string] => [name, value === null ? '' : String(value)]);
  return new Map(entries);
}

/** A Compose duration such as `60s`, `1m30s` or `500ms`, in milliseconds. */
export function durationMs(duration: string): number {
  const unitMs = (unit: string | undefined) => ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 })[unit ?? 's'] ?? 0;
  return [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)].reduce(
    (total, [, amount, unit]) => total + Number(amount) * unitMs(unit),
    0,
  );
}

/** A service of the compose file; throws naming it when there is none. */
export function composeService(compose: ComposeFile, name: string): ComposeService {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
}
