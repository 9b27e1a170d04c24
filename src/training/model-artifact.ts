// A trained model in the TensorFlow.js layers format (model.json + weights.bin), so that
// `tf.loadLayersModel(url)` loads it unchanged in a browser or in Node.
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec } from '../domain/job-spec.js';
import { windowPair } from '../domain/model-shape.js';
import type { Model } from './model.js';

/** The two files of a model in TensorFlow.js layers format. */
export interface LayersModelFiles {
  /** model.json, UTF-8; its weights manifest names `weights.bin` (relative to model.json). */
  modelJson: Buffer;
  /** The weights, float32 little-endian, in the manifest's order. */
  weights: Buffer;
}

/** The file name model.json's weights manifest gives the weights. */
export const weightsFileName = 'weights.bin';

type LayerArgs = { name: string; inputShape?: number[] };

// The tfjs layer of one spec layer (dropout has none: it does nothing at inference).
function layerOf(layer: LayerSpec, args: LayerArgs): tf.layers.Layer | undefined {
  switch (layer.type) {
    case 'dense':
      return tf.layers.dense({ ...args, units: layer.units, activation: layer.activation });
    case 'conv2d':
      return tf.layers.conv2d({
        ...args,
        filters: layer.filters,
        kernelSize: windowPair(layer.kernelSize),
        strides: windowPair(layer.strides),
        padding: layer.padding,
        activation: layer.activation,
      });
    case 'maxPool2d':
    case 'avgPool2d': {
      const pool = {
        ...args,
        poolSize: windowPair(layer.poolSize),
        strides: windowPair(layer.strides ?? layer.poolSize),
        padding: layer.padding,
      };
      return layer.type === 'maxPool2d' ? tf.layers.maxPooling2d(pool) : tf.layers.averagePooling2d(pool);
    }
    case 'flatten':
      return tf.layers.flatten(args);
    case 'batchNormalization':
      return tf.layers.batchNormalization({ ...args, axis: -1, momentum: layer.momentum, epsilon: layer.epsilon });
    case 'dropout':
      return undefined;
  }
}

/**
 * The training model as a tfjs LayersModel on flattened, preprocessed input: a reshape to the image
 * shape when its first layers take images, its layers with copies of their weights, then a softmax,
 * so the model answers probabilities. Dropout is left out (it does nothing at inference).
 */
export function toLayersModel(model: Model, layers: readonly LayerSpec[]): tf.LayersModel {
  const sequential = tf.sequential({ name: 'trainer_model' });
  let inputShape: number[] | undefined = [model.inputFeatures];
  if (model.inputShape.length > 1) {
    sequential.add(tf.layers.reshape({ targetShape: [...model.inputShape], inputShape, name: 'image' }));
    inputShape = undefined;
  }
  let denseIndex = 0;
  for (const [index, layer] of layers.entries()) {
    const name = layer.type === 'dense' ? `dense_${denseIndex++}` : `${layer.type}_${index}`;
    const added = layerOf(layer, { name, ...(inputShape ? { inputShape } : {}) });
    if (!added) continue;
    sequential.add(added);
    inputShape = undefined;
  }
  sequential.add(tf.layers.activation({ activation: 'softmax', name: 'probabilities' }));
  // A layers model's weights are its trainable ones in layer order (kernel and bias, gamma and beta),
  // then the others (batch normalisation's moving mean and variance): the order of Model.state.
  sequential.setWeights(model.state);
  return sequential;
}

function joinWeights(weightData: tf.io.WeightData | undefined): Buffer {
  if (weightData === undefined) return Buffer.alloc(0);
  return Buffer.from(new tf.io.CompositeArrayBuffer(weightData).slice());
}

/** Saves `model` as model.json and weights.bin bytes; `metadata` lands in model.json's userDefinedMetadata. */
export async function serializeLayersModel(
  model: tf.LayersModel,
  metadata?: { [key: string]: object },
): Promise<LayersModelFiles> {
  let files: LayersModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [weightsFileName], weights: artifacts.weightSpecs ?? [] }],
        ...(metadata ? { userDefinedMetadata: metadata } : {}),
      };
      files = { modelJson: Buffer.from(JSON.stringify(modelJson)), weights: joinWeights(artifacts.weightData) };
      return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
    }),
  );
  if (!files) throw new Error('tfjs did not save the model');
  return files;
}

/** Loads a model saved by `serializeLayersModel` (or any single-file layers model) from its bytes. */
export async function loadLayersModelFromFiles(files: {
  modelJson: Uint8Array;
  weights: Uint8Array;
}): Promise<tf.LayersModel> {
  const json = JSON.parse(Buffer.from(files.modelJson).toString('utf8')) as tf.io.ModelJSON;
  const weightSpecs = (json.weightsManifest ?? []).flatMap((group) => group.weights);
  // A fresh ArrayBuffer: the bytes may be a view into a larger or shared buffer.
  const weightData = new Uint8Array(files.weights).buffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
    }),
  );
}

/** A model exported for keeping: its layers-format files and the tfjs release that wrote them. */
export interface ExportedModel extends LayersModelFiles {
  tfjsVersion: string;
}

/**
 * The training model as it is now, in layers format (see `toLayersModel`); `metadata` lands in
 * model.json. Copies the weights, so training may go on at once; leaves no tensors behind.
 */
export async function exportModel(
  model: Model,
  layers: readonly LayerSpec[],
  metadata?: { [key: string]: object },
): Promise<ExportedModel> {
  const layersModel = toLayersModel(model, layers);
  try {
    return { ...(await serializeLayersModel(layersModel, metadata)), tfjsVersion: tf.version.tfjs };
  } finally {
    layersModel.dispose();
  }
}
