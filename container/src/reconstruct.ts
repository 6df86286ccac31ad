// Silhouette inflation: a CPU reconstruction of the masked object as a coloured point cloud.
//
// 1. The mask is binarised: a pixel belongs to the object when its luminance times its alpha is at
//    least `threshold` (0-255).
// 2. An exact Euclidean distance transform (Felzenszwalb & Huttenlocher, 2012) gives each object
//    pixel its distance d to the nearest background pixel (the image border counts as background).
// 3. Depth is the height of a sphere cap over the silhouette: z = inflation * sqrt(d * (2R - d)), where
//    R is the largest d. A disc becomes a hemisphere; thin parts stay thin, thick parts bulge.
// 4. Every `stride`-th object pixel becomes a point (x, y) in a frame centred on the image, y up,
//    scaled so the longer side spans [-1, 1]; z uses the same scale. With `symmetric`, a mirrored
//    back point (-z) closes the shape. Colours come from the image pixel under the point.
import { BadRequest } from './errors.ts';
import type { Image } from './images.ts';

export interface ReconstructionParameters {
  /** Mask threshold, 0-255. */
  threshold: number;
  /** Depth multiplier: 1 gives a hemisphere for a disc. */
  inflation: number;
  /** Take every stride-th pixel in each direction (1 = every pixel). */
  stride: number;
  /** Also emit the mirrored back surface. */
  symmetric: boolean;
}

export const DEFAULT_PARAMETERS: ReconstructionParameters = {
  threshold: 128,
  inflation: 1,
  stride: 1,
  symmetric: true,
};

export interface PointCloud {
  count: number;
  /** x, y, z per point. */
  positions: Float32Array;
  /** r, g, b per point. */
  colors: Uint8Array;
  bounds: { min: [number, number, number]; max: [number, number, number] };
  maskPixels: number;
  maskCoveragePercent: number;
}

/** Validates user-supplied parameters, filling defaults; names the bad one. */
export function parseParameters(raw: unknown, defaults = DEFAULT_PARAMETERS): ReconstructionParameters {
  if (raw === undefined) return { ...defaults };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BadRequest('InvalidField', "'parameters' must be an object");
  }
  const p = { ...defaults, ...(raw as Partial<ReconstructionParameters>) };
  const checks: [keyof ReconstructionParameters, boolean, string][] = [
    [
      'threshold',
      Number.isInteger(p.threshold) && p.threshold >= 1 && p.threshold <= 255,
      'an integer 1-255',
    ],
    ['inflation', typeof p.inflation === 'number' && p.inflation >= 0 && p.inflation <= 10, 'a number 0-10'],
    ['stride', Number.isInteger(p.stride) && p.stride >= 1 && p.stride <= 64, 'an integer 1-64'],
    ['symmetric', typeof p.symmetric === 'boolean', 'true or false'],
  ];
  for (const [name, ok, expected] of checks) {
    if (!ok)
      throw new BadRequest(
        'InvalidField',
        `parameters.${name} must be ${expected}, got ${JSON.stringify(p[name])}`,
      );
  }
  return p;
}

/** A mask pixel's level, 0-255: its luminance, weighted by its alpha. */
function maskLevel(px: Uint8Array, j: number): number {
  const luminance = 0.299 * px[j]! + 0.587 * px[j + 1]! + 0.114 * px[j + 2]!;
  return (luminance * px[j + 3]!) / 255;
}

/** Binary mask (1 = object) from an RGBA image. */
export function binaryMask(mask: Image, threshold: number): Uint8Array {
  const out = new Uint8Array(mask.width * mask.height);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) out[i] = maskLevel(mask.rgba, j) >= threshold ? 1 : 0;
  return out;
}

/** Why a mask selects nothing, in words its author can act on (a 0/1 mask looks black at 8 bits). */
function emptyMaskReason(mask: Image, threshold: number): string {
  let brightest = 0;
  for (let j = 0; j < mask.rgba.length; j += 4) brightest = Math.max(brightest, maskLevel(mask.rgba, j));
  return brightest === 0
    ? `mask is all black: no pixel at or above threshold ${threshold}, nothing to reconstruct; paint the object white (255)`
    : `mask has no pixel at or above threshold ${threshold} (its brightest is ${Math.round(brightest)}): nothing to reconstruct; a mask of 0s and 1s must be saved as 0 and 255`;
}

const INF = 1e20;

/** 1D squared distance transform of f (length n) into d (lower envelope of parabolas); v, z are scratch. */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let r = v[k]!;
    let s = (f[q]! + q * q - (f[r]! + r * r)) / (2 * q - 2 * r);
    while (s <= z[k]!) {
      k--;
      r = v[k]!;
      s = (f[q]! + q * q - (f[r]! + r * r)) / (2 * q - 2 * r);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const r = v[k]!;
    d[q] = (q - r) * (q - r) + f[r]!;
  }
}

/**
 * Euclidean distance from each object pixel to the nearest background pixel, with a one-pixel
 * background frame around the image so objects touching the border still taper there.
 */
export function distanceTransform(mask: Uint8Array, width: number, height: number): Float32Array {
  const w = width + 2;
  const h = height + 2;
  const grid = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x > 0 && y > 0 && x <= width && y <= height && mask[(y - 1) * width + (x - 1)] === 1;
      grid[y * w + x] = inside ? INF : 0;
    }
  }
  const n = Math.max(w, h);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) f[y] = grid[y * w + x]!;
    edt1d(f, h, d, v, z);
    for (let y = 0; y < h; y++) grid[y * w + x] = d[y]!;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) f[x] = grid[row + x]!;
    edt1d(f, w, d, v, z);
    for (let x = 0; x < w; x++) grid[row + x] = d[x]!;
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = Math.sqrt(grid[(y + 1) * w + (x + 1)]!);
  }
  return out;
}

export function reconstruct(image: Image, mask: Image, params: ReconstructionParameters): PointCloud {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new BadRequest(
      'SizeMismatch',
      `image is ${image.width}x${image.height} but mask is ${mask.width}x${mask.height}; they must match`,
    );
  }
  const { width, height } = image;
  const bin = binaryMask(mask, params.threshold);
  let maskPixels = 0;
  for (const b of bin) maskPixels += b;
  if (maskPixels === 0) throw new BadRequest('EmptyMask', emptyMaskReason(mask, params.threshold));
  const dist = distanceTransform(bin, width, height);
  let radius = 0;
  for (let i = 0; i < dist.length; i++) if (bin[i] === 1 && dist[i]! > radius) radius = dist[i]!;

  const { stride, symmetric, inflation } = params;
  let sampled = 0;
  for (let y = 0; y < height; y += stride)
    for (let x = 0; x < width; x += stride) sampled += bin[y * width + x]!;
  const count = symmetric ? sampled * 2 : sampled;
  const positions = new Float32Array(count * 3);
  const colors = new Uint8Array(count * 3);
  const scale = 2 / Math.max(width, height);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  let p = 0;
  const px = image.rgba;
  const push = (x: number, y: number, z: number, i: number): void => {
    const o = p * 3;
    positions[o] = x;
    positions[o + 1] = y;
    positions[o + 2] = z;
    colors[o] = px[i * 4]!;
    colors[o + 1] = px[i * 4 + 1]!;
    colors[o + 2] = px[i * 4 + 2]!;
    p++;
  };
  for (let row = 0; row < height; row += stride) {
    for (let col = 0; col < width; col += stride) {
      const i = row * width + col;
      if (bin[i] !== 1) continue;
      const d = dist[i]!;
      const x = (col - cx) * scale;
      const y = (cy - row) * scale;
      const z = inflation * Math.sqrt(Math.max(0, d * (2 * radius - d))) * scale;
      push(x, y, z, i);
      if (symmetric) push(x, y, -z, i);
    }
  }
  // Bounds of what was stored (float32), so a reader of the file sees exactly these.
  for (let i = 0; i < count * 3; i++) {
    const axis = i % 3;
    const value = positions[i]!;
    if (value < min[axis]!) min[axis] = value;
    if (value > max[axis]!) max[axis] = value;
  }
  return {
    count,
    positions,
    colors,
    bounds: { min, max },
    maskPixels,
    maskCoveragePercent: (100 * maskPixels) / (width * height),
  };
}
