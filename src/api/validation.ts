import type { z } from 'zod';
import { ApiError } from './errors.js';

/** Parses query parameters (or any request part) with a zod schema, or throws a 400 naming each field. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, what = 'query'): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || what,
    message: issue.code === 'unrecognized_keys' ? `unknown parameter(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  throw new ApiError(
    400,
    `invalid_${what}`,
    `invalid ${what}: ${[...new Set(issues.map((issue) => issue.path))].join(', ')}`,
    issues,
  );
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
