import { createReadStream } from 'node:fs';
import type { FeatureType } from '../../domain/dataset-layout.js';

/** Of every feature value of a split, after scaling. */
export interface FeatureStatistics {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Bytes: a histogram of the 256 values gives exact statistics. */
async function byteStatistics(file: string, scale: number): Promise<FeatureStatistics> {
  const histogram = new Float64Array(256);
  for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    for (let index = 0; index < piece.length; index++) histogram[piece[index] as number]! += 1;
  }
  let count = 0;
  let sum = 0;
  let min = 255;
  let max = 0;
  histogram.forEach((times, value) => {
    if (times === 0) return;
    count += times;
    sum += times * value;
    min = Math.min(min, value);
    max = Math.max(max, value);
  });
  const mean = sum / count;
  let squares = 0;
  histogram.forEach((times, value) => (squares += times * (value - mean) ** 2));
  return { mean: mean * scale, std: Math.sqrt(squares / count) * scale, min: min * scale, max: max * scale };
}

/** Floats: mean and spread per piece, combined (Chan et al.), which stays accurate for large values. */
async function floatStatistics(file: string, scale: number): Promise<FeatureStatistics> {
  let count = 0;
  let mean = 0;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  let carry = Buffer.alloc(0);
  for await (const read of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const piece = carry.length > 0 ? Buffer.concat([carry, read]) : read;
    const values = Math.floor(piece.length / 4);
    carry = Buffer.from(piece.subarray(values * 4));
    if (values === 0) continue;
    let sum = 0;
    for (let index = 0; index < values; index++) {
      const value = piece.readFloatLE(index * 4);
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    const pieceMean = sum / values;
    let pieceSquares = 0;
    for (let index = 0; index < values; index++) pieceSquares += (piece.readFloatLE(index * 4) - pieceMean) ** 2;
    const delta = pieceMean - mean;
    const total = count + values;
    squares += pieceSquares + (delta * delta * count * values) / total;
    mean += (delta * values) / total;
    count = total;
  }
  return { mean: mean * scale, std: Math.sqrt(squares / count) * scale, min: min * scale, max: max * scale };
}

/** Mean, standard deviation, min and max of a split's stored features, times `scale`. */
export function featureStatistics(file: string, featureType: FeatureType, scale: number): Promise<FeatureStatistics> {
  return featureType === 'uint8' ? byteStatistics(file, scale) : floatStatistics(file, scale);
}
