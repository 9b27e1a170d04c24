import { architectureOf, bundledDataset, formatShape, modelInputShape, walkShapes } from '../../domain';
import type { FormState } from './form-state';
import { walkedLayer } from './form-state';
import type { Issues } from './issues';
import type { DatasetChoice } from './use-new-job';

/**
 * The model as the server will judge it, worked out as the form is edited with the server's own
 * rules (src/domain): the input it takes, each layer's shapes, the first layer that does not fit and
 * why, the parameter count and the architecture string. The server still decides on submit.
 */
export function modelCheck(form: FormState, datasets: readonly DatasetChoice[], submitted: Issues) {
  const shape = datasets.find((dataset) => dataset.name === form.dataset)?.inputShape ??
    bundledDataset(form.dataset)?.inputShape ?? [28, 28, 1];
  const layers = form.layers.map(walkedLayer);
  const walk = walkShapes(layers, shape);
  const parameters = walk.ok ? walk.layers.reduce((total, layer) => total + layer.parameters, 0) : null;
  // A layer that does not fit shows why beside it, as the server's 400 would, until it fits.
  const issues = new Map(submitted);
  if (!walk.ok) {
    const path = `model.layers.${walk.index}`;
    issues.set(path, [...new Set([...(issues.get(path) ?? []), walk.message])]);
  }
  return {
    input: formatShape(modelInputShape(layers, shape)),
    walk,
    issues,
    parameters: parameters !== null && Number.isFinite(parameters) ? parameters : null,
    architecture: architectureOf({ dataset: form.dataset, model: { layers } }, shape),
  };
}
