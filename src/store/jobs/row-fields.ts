// Typed reads of one column of a row our own SQL selected. The hottest reads (a job, a page of runs)
// map their rows with these rather than a zod parse: the SQL fixes each column's type, so a check of
// `typeof` per value is all the parse there is to do, and it costs a fraction of a schema's walk. A
// value of another type (the SQL and the mapper out of step) still fails loudly, naming the column.

/** A row as pg or Prisma's `$queryRaw` returns it. */
export type Row = Record<string, unknown>;

function refuse(column: string, expected: string, value: unknown): never {
  throw new TypeError(`column ${column}: expected ${expected}, got ${value === null ? 'null' : typeof value}`);
}

export function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : refuse(column, 'text', value);
}

export function nullableText(row: Row, column: string): string | null {
  const value = row[column];
  return value === null || typeof value === 'string' ? value : refuse(column, 'text or null', value);
}

export function number(row: Row, column: string): number {
  const value = row[column];
  return typeof value === 'number' ? value : refuse(column, 'a number', value);
}

export function nullableNumber(row: Row, column: string): number | null {
  const value = row[column];
  return value === null || typeof value === 'number' ? value : refuse(column, 'a number or null', value);
}

export function integer(row: Row, column: string): number {
  const value = row[column];
  return Number.isInteger(value) ? (value as number) : refuse(column, 'an integer', value);
}

export function nullableInteger(row: Row, column: string): number | null {
  const value = row[column];
  return value === null || Number.isInteger(value) ? (value as number | null) : refuse(column, 'an integer', value);
}

export function date(row: Row, column: string): Date {
  const value = row[column];
  return value instanceof Date ? value : refuse(column, 'a timestamp', value);
}

export function nullableDate(row: Row, column: string): Date | null {
  const value = row[column];
  return value === null || value instanceof Date ? value : refuse(column, 'a timestamp or null', value);
}

export function textArray(row: Row, column: string): string[] {
  const value = row[column];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    return refuse(column, 'an array of text', value);
  }
  return value;
}

export function integerArray(row: Row, column: string): number[] {
  const value = row[column];
  if (!Array.isArray(value) || !value.every((item) => Number.isInteger(item))) {
    return refuse(column, 'an array of integers', value);
  }
  return value as number[];
}

export function oneOf<const Value extends string>(row: Row, column: string, values: readonly Value[]): Value {
  const value = row[column];
  return values.includes(value as Value) ? (value as Value) : refuse(column, `one of ${values.join(', ')}`, value);
}

/** Each element of a JSON array column (null reads as empty) as a row of its own. */
export function rowArray(row: Row, column: string): Row[] {
  const value = row[column];
  if (value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => item !== null && typeof item === 'object')) {
    return refuse(column, 'an array of objects', value);
  }
  return value as Row[];
}

export function boolean(row: Row, column: string): boolean {
  const value = row[column];
  return typeof value === 'boolean' ? value : refuse(column, 'a boolean', value);
}
