/** Which file a refusal is about, so its issues are printed beside that file's fields. */
const sources = new WeakMap<object, string>();

/** Notes that `error` (a refusal of what `file` held) is about `file`; returns the error. */
export function aboutFile<E>(error: E, file: string): E {
  if (typeof error === 'object' && error !== null) sources.set(error, file);
  return error;
}

export const fileOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null ? sources.get(error) : undefined;
