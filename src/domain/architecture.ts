import { bundledDataset, inputSize } from './datasets.js';
import type { JobSpec, LayerSpec, WindowSize } from './job-spec.js';
import { formatWindow, isImageLayer, layerSizes, modelInputShape } from './model-shape.js';

// Strides and padding only when they differ from the layer's defaults.
function windowSuffix(strides: WindowSize | undefined, defaultStride: WindowSize, padding: string): string {
  const stride =
    strides === undefined || formatWindow(strides) === formatWindow(defaultStride) ? '' : `s${formatWindow(strides)}`;
  return stride + (padding === 'same' ? 'same' : '');
}

function architectureToken(layer: LayerSpec): string | undefined {
  switch (layer.type) {
    case 'dense':
      return String(layer.units);
    case 'conv2d':
      return `c${layer.filters}k${formatWindow(layer.kernelSize)}${windowSuffix(layer.strides, 1, layer.padding)}`;
    case 'maxPool2d':
      return `p${formatWindow(layer.poolSize)}${windowSuffix(layer.strides, layer.poolSize, layer.padding)}`;
    case 'avgPool2d':
      return `a${formatWindow(layer.poolSize)}${windowSuffix(layer.strides, layer.poolSize, layer.padding)}`;
    case 'flatten':
      return 'f';
    case 'batchNormalization':
      return 'bn';
    case 'dropout':
      return undefined;
  }
}

/**
 * A model in one line. Dense-only: input features then every dense layer's units ("784-512-512-10").
 * With image layers: the input shape, then `c<filters>k<kernel>` per conv2d, `p<size>` per max pool,
 * `a<size>` per average pool, `f` per flatten, `bn` per batch normalisation and units per dense layer
 * ("28x28x1-c32k3-p2-c64k3-p2-f-128-10"); strides other than the default follow as `s<n>`, and
 * `same` marks same padding. Dropout does not appear. `inputShape` is the one the job recorded at
 * submission (its dataset's); without it (rows from before it was recorded) the spec names a bundled
 * dataset, and an input nothing describes shows as `?`.
 */
export function architectureOf(spec: Pick<JobSpec, 'dataset' | 'model'>, inputShape: readonly number[] = []): string {
  const shape = inputShape.length > 0 ? inputShape : bundledDataset(spec.dataset)?.inputShape;
  const layers = spec.model.layers;
  if (
    !layers.some(isImageLayer) &&
    !layers.some((layer) => layer.type === 'flatten' || layer.type === 'batchNormalization')
  ) {
    const features = shape ? String(inputSize({ inputShape: shape })) : '?';
    return [features, ...layerSizes(layers, 0).slice(1)].join('-');
  }
  const input = shape ? modelInputShape(layers, shape).join('x') : '?';
  return [input, ...layers.map(architectureToken).filter((token) => token !== undefined)].join('-');
}

/** One layer in words, for a layer-by-layer comparison: "conv2d 32 3x3 relu", "maxPool2d 2x2". */
export function describeLayer(layer: LayerSpec): string {
  const window = (size: WindowSize) => formatWindow(size).replace(/^(\d+)$/, '$1x$1');
  switch (layer.type) {
    case 'dense':
      return `dense ${layer.units} ${layer.activation}`;
    case 'dropout':
      return `dropout ${layer.rate}`;
    case 'conv2d': {
      const extra = [
        ...(formatWindow(layer.strides) === '1' ? [] : [`stride ${window(layer.strides)}`]),
        ...(layer.padding === 'same' ? ['same'] : []),
      ];
      return [`conv2d ${layer.filters} ${window(layer.kernelSize)} ${layer.activation}`, ...extra].join(' ');
    }
    case 'maxPool2d':
    case 'avgPool2d': {
      const strides = layer.strides ?? layer.poolSize;
      const extra = [
        ...(formatWindow(strides) === formatWindow(layer.poolSize) ? [] : [`stride ${window(strides)}`]),
        ...(layer.padding === 'same' ? ['same'] : []),
      ];
      return [`${layer.type} ${window(layer.poolSize)}`, ...extra].join(' ');
    }
    case 'flatten':
      return 'flatten';
    case 'batchNormalization':
      return `batchNormalization momentum ${layer.momentum} epsilon ${layer.epsilon}`;
  }
}
