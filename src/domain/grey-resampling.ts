/** A grey picture: `width` x `height` values from 0 (black) to 255 (white), row by row. */
export interface GreyImage {
  width: number;
  height: number;
  pixels: ArrayLike<number>;
}

/**
 * How one axis of the output maps onto the source: output pixel `d` (its centre at `d + 0.5`) samples
 * the source around `origin + (d + 0.5) / scale`, in source pixels whose centres are at `i + 0.5`.
 */
export interface AxisMapping {
  /** Output pixels along the axis. */
  size: number;
  /** Output pixels per source pixel. */
  scale: number;
  /** The source coordinate of the output's edge (output coordinate 0). */
  origin: number;
}

/** What lies beyond the source's edges: its edge pixels repeated, or black. */
export type SourceEdge = 'clamp' | 'black';

/** The source pixels and weights each output pixel of one axis takes, in one flat list per output. */
interface AxisTaps {
  indices: Int32Array[];
  weights: Float64Array[];
}

// A triangle (tent) filter widened to the scale when shrinking, as PIL's bilinear filter is: every
// source pixel then counts (no aliasing when a 4000-pixel photo becomes 20), and enlarging is
// plain bilinear interpolation. At scale 1 and a whole-pixel origin it copies the source exactly.
function axisTaps(sourceSize: number, mapping: AxisMapping, edge: SourceEdge): AxisTaps {
  const radius = Math.max(1, 1 / mapping.scale);
  const taps: AxisTaps = { indices: [], weights: [] };
  for (let output = 0; output < mapping.size; output++) {
    const centre = mapping.origin + (output + 0.5) / mapping.scale;
    const first = Math.ceil(centre - radius - 0.5);
    const last = Math.floor(centre + radius - 0.5);
    const indices: number[] = [];
    const weights: number[] = [];
    let total = 0;
    for (let index = first; index <= last; index++) {
      const weight = 1 - Math.abs(index + 0.5 - centre) / radius;
      if (weight <= 0) continue;
      // Weights beyond the source still count in the total, so black beyond the edge darkens.
      total += weight;
      if (index >= 0 && index < sourceSize) indices.push(index);
      else if (edge === 'clamp' && sourceSize > 0) indices.push(index < 0 ? 0 : sourceSize - 1);
      else continue;
      weights.push(weight);
    }
    taps.indices.push(Int32Array.from(indices));
    taps.weights.push(Float64Array.from(weights, (weight) => (total > 0 ? weight / total : 0)));
  }
  return taps;
}

/** The source rows any output row reads: only those are resampled across. */
function rowsRead(taps: AxisTaps): { first: number; last: number } {
  let [first, last] = [Number.POSITIVE_INFINITY, -1];
  for (const indices of taps.indices)
    for (const index of indices) {
      first = Math.min(first, index);
      last = Math.max(last, index);
    }
  return { first, last };
}

/**
 * The source resampled onto `x.size` x `y.size` pixels through the two axis mappings (separable:
 * across each source row read, then down each column), as unrounded grey values.
 */
export function resampleGrey(source: GreyImage, x: AxisMapping, y: AxisMapping, edge: SourceEdge): Float64Array {
  const columns = axisTaps(source.width, x, edge);
  const rows = axisTaps(source.height, y, edge);
  const { first, last } = rowsRead(rows);
  // Row `r - first` holds source row r resampled across to x.size values.
  const across = new Float64Array(Math.max(0, last - first + 1) * x.size);
  for (let row = first; row <= last; row++) {
    const rowStart = row * source.width;
    for (let column = 0; column < x.size; column++) {
      const indices = columns.indices[column] as Int32Array;
      const weights = columns.weights[column] as Float64Array;
      let sum = 0;
      for (let tap = 0; tap < indices.length; tap++)
        sum += (source.pixels[rowStart + (indices[tap] as number)] as number) * (weights[tap] as number);
      across[(row - first) * x.size + column] = sum;
    }
  }
  const output = new Float64Array(x.size * y.size);
  for (let row = 0; row < y.size; row++) {
    const indices = rows.indices[row] as Int32Array;
    const weights = rows.weights[row] as Float64Array;
    for (let column = 0; column < x.size; column++) {
      let sum = 0;
      for (let tap = 0; tap < indices.length; tap++)
        sum += (across[((indices[tap] as number) - first) * x.size + column] as number) * (weights[tap] as number);
      output[row * x.size + column] = sum;
    }
  }
  return output;
}

/** `values` rounded into bytes 0..255. */
export function toBytes(values: ArrayLike<number>): Uint8Array {
  return Uint8Array.from({ length: values.length }, (_, index) =>
    Math.min(255, Math.max(0, Math.round(values[index] as number))),
  );
}

/** The whole image stretched or squeezed onto `width` x `height` (its aspect ratio is not kept). */
export function resizeGrey(source: GreyImage, width: number, height: number): Uint8Array {
  return toBytes(
    resampleGrey(
      source,
      { size: width, scale: width / Math.max(1, source.width), origin: 0 },
      { size: height, scale: height / Math.max(1, source.height), origin: 0 },
      'clamp',
    ),
  );
}
