import type { FieldIssue } from '@trainer/client';

/** Issues by the field they name. */
export type Issues = Map<string, string[]>;

const formFields = new Set([
  'name',
  'tags',
  'dataset',
  'seed',
  'trainSamples',
  'testSamples',
  'epochs',
  'learningRate',
  'batchSize',
  'optimizer',
]);

/** The fields of a layer row; an issue inside one (`kernelSize.1`) shows beside the field. */
export const layerFields = [
  'type',
  'units',
  'activation',
  'rate',
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'poolSize',
  'momentum',
  'epsilon',
] as const;

const layerPath = new RegExp(`^model\\.layers(?:\\.(\\d+)(?:\\.(${layerFields.join('|')})(?:\\.\\d+)?)?)?$`);

/** The field of the form an issue's path names, or null when the form shows no such field. */
function shownAt(path: string, layerCount: number): string | null {
  const top = path.split('.')[0] ?? '';
  if (formFields.has(top)) return top;
  const layer = layerPath.exec(path);
  if (!layer) return null;
  const [, index, field] = layer;
  if (index === undefined) return 'model.layers';
  if (Number(index) >= layerCount) return null;
  return field === undefined ? `model.layers.${index}` : `model.layers.${index}.${field}`;
}

/** Issues by the field they name; the ones no field shows go under "other". */
export function groupIssues(
  issues: readonly FieldIssue[],
  layerCount: number,
): { byPath: Issues; other: FieldIssue[] } {
  const byPath: Issues = new Map();
  const other: FieldIssue[] = [];
  for (const issue of issues) {
    const field = shownAt(issue.path, layerCount);
    if (field) byPath.set(field, [...(byPath.get(field) ?? []), issue.message]);
    else other.push(issue);
  }
  return { byPath, other };
}
