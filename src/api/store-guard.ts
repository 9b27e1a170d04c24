import { DependencyUnavailable } from '../domain/errors.js';
import { isDatabaseUnavailable } from '../store/outage.js';

function translate(error: unknown): never {
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

function guardResult(result: unknown): unknown {
  if (result instanceof Promise) return result.catch(translate);
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
