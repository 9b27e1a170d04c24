import { InvalidRequest } from '../../domain/errors.js';
import type { RunQuery } from '../../store/jobs-repository.js';
import { uuidPattern } from './common-schemas.js';

/** Where a page of runs ended, under which sort: what `nextCursor` carries, opaque to clients. */
interface Cursor {
  sort: string;
  order: string;
  key: number;
  id: string;
}

type Position = NonNullable<RunQuery['after']>;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

const refused = (message: string) => InvalidRequest.of('query', [{ path: 'cursor', message }]);

function decoded(value: string): Partial<Cursor> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** The position a cursor names, for the same sort and order it was issued under. */
export function decodeCursor(value: string, sort: string, order: string): Position {
  const cursor = decoded(value);
  const { key, id } = cursor;
  if (typeof key !== 'number' || !Number.isFinite(key) || typeof id !== 'string' || !uuidPattern.test(id)) {
    throw refused('is not a cursor this API issued');
  }
  if (cursor.sort !== sort || cursor.order !== order) {
    throw refused(`belongs to sort=${cursor.sort}&order=${cursor.order}; repeat those with it`);
  }
  return { key, id };
}
