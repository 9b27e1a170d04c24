import { z } from 'zod';

// Postgres text and JSON cannot hold NUL, and a lone UTF-16 surrogate is not text at all.
// eslint-disable-next-line no-control-regex -- NUL is the character this pattern exists to refuse
const storable = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

/** A string a user may send that Postgres can store as it is. */
export function text() {
  return z.string().regex(storable, 'must not contain NUL characters or unpaired surrogates');
}
