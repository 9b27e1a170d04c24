// What a PNG or JPEG declares about its pixels, read from its first bytes without decoding anything:
// enough to refuse an image that would take too long or too much memory to decode.

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** Samples per pixel once decoded: 1 grey, 2 grey and alpha, 3 colour, 4 colour and alpha (or CMYK). */
  channels: number;
  /** 1 for up to 8 bits a sample, 2 for 16 (PNG) or 12 (JPEG). */
  bytesPerSample: number;
  /** PNG's Adam7 interlacing: decoded in one piece, so checked before it is inflated. */
  interlaced: boolean;
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export const isPng = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 8)).equals(pngSignature);
export const isJpeg = (bytes: Uint8Array) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

/** Samples per pixel of each PNG colour type once decoded; a palette's entries may carry alpha. */
const pngChannels: Record<number, number> = { 0: 1, 2: 3, 3: 4, 4: 2, 6: 4 };

function pngHeader(bytes: Uint8Array): ImageHeader | null {
  // The signature, then IHDR first: length 13, its type, width, height, depth, colour type, ...
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || view.getUint32(8) !== 13 || Buffer.from(bytes.subarray(12, 16)).toString() !== 'IHDR')
    return null;
  const channels = pngChannels[bytes[25] as number];
  if (channels === undefined) return null;
  return {
    format: 'png',
    width: view.getUint32(16),
    height: view.getUint32(20),
    channels,
    bytesPerSample: bytes[24] === 16 ? 2 : 1,
    interlaced: bytes[28] === 1,
  };
}

// Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are not frames.
const isStartOfFrame = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
// Markers that stand alone, without a length: TEM, the restart markers and SOI.
const standsAlone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8);

function jpegHeader(bytes: Uint8Array): ImageHeader | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 2;
  // Segments up to the frame header; metadata (EXIF, ICC) before it is skipped by its length.
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1] as number;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (standsAlone(marker)) {
      offset += 2;
      continue;
    }
    // The image data starts (SOS) or ends (EOI) before any frame header: not an image we can read.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = view.getUint16(offset + 2);
    if (isStartOfFrame(marker)) {
      if (offset + 10 > bytes.length || length < 8) return null;
      return {
        format: 'jpeg',
        height: view.getUint16(offset + 5),
        width: view.getUint16(offset + 7),
        channels: bytes[offset + 9] as number,
        bytesPerSample: (bytes[offset + 4] as number) > 8 ? 2 : 1,
        interlaced: false,
      };
    }
    offset += 2 + length;
  }
  return null;
}

/** The header of a PNG or JPEG, or null when the bytes do not start as one that can be decoded. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  const header = isPng(bytes) ? pngHeader(bytes) : isJpeg(bytes) ? jpegHeader(bytes) : null;
  if (!header || header.width === 0 || header.height === 0 || header.channels === 0) return null;
  return header;
}

/** Bytes the image's samples take once decoded: width x height x channels x bytes per sample. */
export const decodedBytes = (header: ImageHeader) =>
  header.width * header.height * header.channels * header.bytesPerSample;
