import { gzipSync } from 'node:zlib';

/** An IDX file of unsigned bytes: magic 00 00 08 <rank>, big-endian dimensions, then the values. */
export function idxFile(dimensions: readonly number[], values: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + dimensions.length * 4);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dimensions.length, 3);
  dimensions.forEach((size, index) => header.writeUInt32BE(size, 4 + index * 4));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(values))]);
}

/**
 * A learnable image dataset: `count` examples of `side` x `side` pixels, class k lighting up row k
 * (with noise from a fixed sequence), labels cycling through `classes` classes.
 */
export function stripes(count: number, side: number, classes: number, offset = 0) {
  const labels = Array.from({ length: count }, (_, index) => (index + offset) % classes);
  const pixels = new Uint8Array(count * side * side);
  labels.forEach((label, example) => {
    for (let pixel = 0; pixel < side * side; pixel++) {
      const row = Math.floor(pixel / side);
      const noise = (example * 31 + pixel * 17) % 40;
      pixels[example * side * side + pixel] = row === label ? 200 + (noise % 55) : noise;
    }
  });
  return {
    images: idxFile([count, side, side], pixels),
    labels: idxFile([count], labels),
    pixels,
    labelValues: labels,
  };
}

export const gzip = (bytes: Buffer): Buffer => gzipSync(bytes);

/** A multipart form of text fields and named files, as curl -F sends it. */
export function uploadForm(fields: Record<string, string>, files: Record<string, Buffer | string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    form.append(name, new Blob([new Uint8Array(bytes)]), `${name}.bin`);
  }
  return form;
}

/** One part of a multipart form: a text field, or a file (`file: true`). */
export interface FormPart {
  name: string;
  value: Buffer | string;
  file?: boolean;
}

/** A multipart form of parts in order, names repeated as they come: what `uploadForm` cannot express. */
export function partsForm(parts: readonly FormPart[]): FormData {
  const form = new FormData();
  for (const { name, value, file } of parts) {
    if (!file) form.append(name, String(value));
    else form.append(name, new Blob([new Uint8Array(typeof value === 'string' ? Buffer.from(value) : value)]), name);
  }
  return form;
}
