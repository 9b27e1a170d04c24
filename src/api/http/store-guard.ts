import { DependencyUnavailable, DomainError } from '../../domain/errors.js';
import { isDatabaseUnavailable } from '../../store/outage.js';

function translate(error: unknown): never {
  // Already said in so many words (ArtifactStoreUnavailable carries the socket error of object storage
  // as its cause, which must not read as Postgres being down).
  if (error instanceof DomainError) throw error;
  if (isDatabaseUnavailable(error)) throw new DependencyUnavailable('database', { cause: error });
  throw error;
}

async function* guardedPages<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* pages;
  } catch (error) {
    translate(error);
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';

function guardResult(result: unknown): unknown {
  // Prisma's queries are thenables of its own, not Promises.
  if (isThenable(result)) return Promise.resolve(result).catch(translate);
  if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
    return guardedPages(result as AsyncIterable<unknown>);
  }
  return result;
}

/**
 * The store as the service sees it: every method the same, except that an error saying Postgres
 * cannot be reached becomes `DependencyUnavailable('database')`, for promises and page iterators alike.
 */
export function guardStore<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => guardResult((value as (...parameters: unknown[]) => unknown).apply(target, args));
    },
  });
}
