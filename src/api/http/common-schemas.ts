import { z } from 'zod';
import { text } from '../../domain/text.js';

/** The body of every error answer: a human message, a stable code and, for bad fields, each of them. */
export const errorBody = z
  .object({
    error: z.string().describe('What went wrong, for a human'),
    code: z
      .string()
      .describe('Stable, for programs: not_found, invalid_query, invalid_spec, database_unavailable, ...'),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('One entry per bad field, when the request had bad fields'),
    store: z
      .string()
      .optional()
      .describe(
        'The artifact store that could not be reached (code artifact_store_unavailable), e.g. s3://bucket/prefix',
      ),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.output<typeof errorBody>;

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const jobId = z
  .string()
  .regex(uuidPattern, 'must be a UUID')
  .meta({ description: 'A job id (UUID)', examples: ['5b0c6f1e-3a52-4c1e-9d8f-2f4b7a9e0c13'] });

/** The path parameters of every /jobs/:id route. */
export const jobIdParams = z.object({ id: jobId });

/**
 * A whole number in a query string: decimal digits only, so `0x10`, `1e2`, `+5`, ` 5` and `5.0`
 * are refused rather than read as numbers.
 */
export function decimalInteger(min: number, max: number, example?: string) {
  // Examples go on the string a client writes: a pipe's JSON schema is its input's.
  return z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number written in decimal digits')
    .meta(example === undefined ? {} : { examples: [example] })
    .transform(Number)
    .pipe(z.int().min(min).max(max));
}

export const isoTime = z.iso.datetime();

/** Error answers every route may give, besides its own. */
export const commonErrors = {
  401: errorBody.describe('No API key, or an unknown or revoked one (with AUTH=required); see WWW-Authenticate'),
  403: errorBody.describe("The key's role may not do this"),
  429: errorBody.describe(
    'A rate limit or quota is exceeded; the message names it, Retry-After says when to retry (RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset too for a rate limit)',
  ),
  500: errorBody.describe('Unexpected failure; the server logged the details'),
  503: errorBody.describe('Postgres or Redis is unreachable; retry after the Retry-After header'),
};

/** The `owner` filter of a listing: what it lists, for admins (other keys always see only their own owner's). */
export function ownerFilter(what: string) {
  return text()
    .min(1)
    .max(64)
    .optional()
    .describe(`Only this owner's ${what}; for admins (other keys always see only their own owner's)`);
}

/** The `cursor` of a paged listing. */
export function pageCursor(description = '`nextCursor` of the previous page') {
  return z.string().max(500).optional().describe(description);
}

/** One page of a listing: its items under `key`, and the cursor of the next page. */
export function pageOf<Key extends string, Item extends z.ZodType>(key: Key, item: Item, id: string) {
  return z
    .object({
      [key]: z.array(item),
      nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
    } as { [K in Key]: z.ZodArray<Item> } & { nextCursor: z.ZodNullable<z.ZodString> })
    .meta({ id });
}

/** The answer of a DELETE that removed what it named. */
export const deleted = z.null().describe('Deleted; no body');
