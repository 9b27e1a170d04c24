/** What a CSV cell may hold; null is an empty cell. */
export type CsvValue = string | number | boolean | null;

// A cell a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage return first) is
// written with a leading apostrophe, as OWASP advises: run names and tags are whatever users typed.
const formulaStart = /^[=+\-@\t\r]/;
const needsQuotes = /[",\r\n]/;

/** One cell as RFC 4180 writes it; text that could run as a formula is defused. Numbers that are not finite are empty, as JSON's null. */
export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = formulaStart.test(value) ? `'${value}` : value;
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One line of cells, ended by CRLF as RFC 4180 has it. */
export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',') + '\r\n';
}
