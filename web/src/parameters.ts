import type { LayerSpec } from './api';

/** Input features of the datasets the form knows; others are read from GET /datasets when it exists. */
export const knownInputSizes: Record<string, number> = { mnist: 784 };

/** Trainable parameters of a stack of dense and dropout layers on `inputSize` features (weights + biases). */
export function countParameters(layers: readonly LayerSpec[], inputSize: number): number {
  let features = inputSize;
  let total = 0;
  for (const layer of layers) {
    if (layer.type === 'dense' && typeof layer.units === 'number' && Number.isFinite(layer.units)) {
      total += features * layer.units + layer.units;
      features = layer.units;
    }
  }
  return total;
}

/** "784-512-512-10": the input size, then each dense layer's units. */
export function architectureOf(layers: readonly LayerSpec[], inputSize: number): string {
  const units = layers.flatMap((layer) => (layer.type === 'dense' ? [String(layer.units)] : []));
  return [String(inputSize), ...units].join('-');
}
