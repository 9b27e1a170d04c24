import type { DatasetInfo } from '../../domain/datasets.js';
import { inputSize } from '../../domain/datasets.js';
import { bytesPerFeature, bytesPerLabel, datasetSections, type FeatureType } from '../../domain/dataset-layout.js';
import type { Dataset, DatasetSplit, Labels } from './dataset.js';

/** How an uploaded dataset's bytes are to be read (see src/domain/dataset-layout.ts). */
export interface StoredForm {
  info: DatasetInfo;
  featureType: FeatureType;
  /** Stored value * scale is the feature that info.mean and info.std describe. */
  scale: number;
}

interface Target {
  split: 'train' | 'test';
  part: 'inputs' | 'labels';
  bytes: number;
}

function emptySplit(count: number, features: number, numClasses: number): DatasetSplit {
  const inputs = new Float32Array(new SharedArrayBuffer(count * features * Float32Array.BYTES_PER_ELEMENT));
  const labelBuffer = new SharedArrayBuffer(count * (numClasses > 256 ? 2 : 1));
  const labels: Labels = numClasses > 256 ? new Uint16Array(labelBuffer) : new Uint8Array(labelBuffer);
  return { inputs, labels, count, features };
}

/**
 * Fills shared-memory splits from a stream of a dataset's stored bytes, normalising on the way:
 * input = (stored * scale - mean) / std. Holds no more than one piece of the stream besides the splits.
 */
// eslint-disable-next-line max-lines-per-function -- one streaming decoder: its fast path and its byte-at-a-time edge path share the position state
export async function decodeDataset(form: StoredForm, content: AsyncIterable<Uint8Array>): Promise<Dataset> {
  const { info, featureType, scale } = form;
  const features = inputSize(info);
  const layout = { featureType, features, trainSize: info.trainSize, testSize: info.testSize };
  const sections = datasetSections(layout);
  const splits = {
    train: emptySplit(info.trainSize, features, info.numClasses),
    test: emptySplit(info.testSize, features, info.numClasses),
  };
  const targets: Target[] = [
    { split: 'train', part: 'inputs', bytes: sections.trainFeatures.bytes },
    { split: 'train', part: 'labels', bytes: sections.trainLabels.bytes },
    { split: 'test', part: 'inputs', bytes: sections.testFeatures.bytes },
    { split: 'test', part: 'labels', bytes: sections.testLabels.bytes },
  ];
  const multiplier = scale / info.std;
  const shift = info.mean / info.std;
  const width = featureType === 'uint8' ? bytesPerFeature.uint8 : bytesPerFeature.float32;
  // Values can straddle pieces of the stream; `carry` holds the bytes of one that did.
  const carry = new Uint8Array(4);
  let carried = 0;
  let target = 0;
  let offsetInTarget = 0;
  const write = (byte: number): void => {
    while (target < targets.length && offsetInTarget >= (targets[target] as Target).bytes) {
      target++;
      offsetInTarget = 0;
    }
    const current = targets[target];
    if (!current) throw new Error(`stored dataset ${info.name} is longer than ${sections.total} bytes`);
    const size = current.part === 'inputs' ? width : bytesPerLabel;
    carry[carried++] = byte;
    if (carried < size) return;
    carried = 0;
    const split = splits[current.split];
    const index = offsetInTarget / size;
    offsetInTarget += size;
    if (current.part === 'labels') {
      split.labels[index] = (carry[0] as number) | ((carry[1] as number) << 8);
    } else {
      const value = size === 1 ? (carry[0] as number) : new DataView(carry.buffer).getFloat32(0, true);
      split.inputs[index] = value * multiplier - shift;
    }
  };
  let received = 0;
  for await (const piece of content) {
    received += piece.length;
    decodePiece(piece);
  }
  if (received !== sections.total) {
    throw new Error(`stored dataset ${info.name} has ${received} bytes; its description says ${sections.total}`);
  }
  return { info, train: splits.train, test: splits.test };

  // The common case runs over whole pieces without per-byte dispatch; `write` handles the edges.
  function decodePiece(piece: Uint8Array): void {
    let position = 0;
    while (position < piece.length) {
      const current = targets[target];
      if (carried > 0 || !current || offsetInTarget >= current.bytes) {
        write(piece[position++] as number);
        continue;
      }
      const size = current.part === 'inputs' ? width : bytesPerLabel;
      const whole = Math.min(current.bytes - offsetInTarget, piece.length - position);
      const values = Math.floor(whole / size);
      if (values === 0) {
        write(piece[position++] as number);
        continue;
      }
      const split = splits[current.split];
      const first = offsetInTarget / size;
      const view = new DataView(piece.buffer, piece.byteOffset + position, values * size);
      if (current.part === 'labels') {
        for (let index = 0; index < values; index++) split.labels[first + index] = view.getUint16(index * 2, true);
      } else if (size === 1) {
        for (let index = 0; index < values; index++)
          split.inputs[first + index] = (piece[position + index] as number) * multiplier - shift;
      } else {
        for (let index = 0; index < values; index++)
          split.inputs[first + index] = view.getFloat32(index * 4, true) * multiplier - shift;
      }
      position += values * size;
      offsetInTarget += values * size;
    }
  }
}
