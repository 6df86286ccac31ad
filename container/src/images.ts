// Decoding uploaded images with well-kept libraries (pngjs, jpeg-js), behind limits on bytes and
// pixels that are checked before any pixel buffer is allocated.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { BadRequest } from './errors.ts';

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row by row. */
  rgba: Uint8Array;
}

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(PNG_MAGIC)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Width and height from the header, without decoding the pixels. */
function dimensions(bytes: Buffer, format: ImageFormat): { width: number; height: number } | undefined {
  if (format === 'png') {
    // IHDR is always the first chunk: width and height at bytes 16-23.
    return bytes.length >= 24 ? { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) } : undefined;
  }
  // JPEG: walk the markers to the first start-of-frame.
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    const length = bytes.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return undefined;
}

/** Decodes a PNG or JPEG into RGBA; `what` names the input in error messages ("image", "mask"). */
export function decodeImage(bytes: Uint8Array, what: string, limits: ImageLimits): Image {
  if (bytes.length > limits.maxBytes) {
    throw new BadRequest('TooLarge', `${what} is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  }
  const format = sniffFormat(bytes);
  if (!format) throw new BadRequest('NotAnImage', `${what} is not a PNG or JPEG image`);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dimensions(buffer, format);
  if (!size || size.width === 0 || size.height === 0) {
    throw new BadRequest('NotAnImage', `${what} is a ${format.toUpperCase()} with an unreadable header`);
  }
  if (size.width * size.height > limits.maxPixels) {
    throw new BadRequest(
      'TooLarge',
      `${what} is ${size.width}x${size.height} = ${size.width * size.height} pixels; the limit is ${limits.maxPixels}`,
    );
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const decoded = jpeg.decode(buffer, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((limits.maxPixels * 4 * 2) / 2 ** 20) + 16,
    });
    return { width: decoded.width, height: decoded.height, rgba: decoded.data };
  } catch (err) {
    throw new BadRequest(
      'NotAnImage',
      `${what} could not be decoded as ${format.toUpperCase()}: ${(err as Error).message}`,
    );
  }
}

export function encodePng(image: Image): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  return PNG.sync.write(png);
}
