// The CPU part of generate_3d: decode both images, reconstruct, encode the PLY. It runs in a worker
// thread (compute-worker.ts), so the server's event loop stays free for /ping and I/O.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decodeImage, type ImageLimits } from './images.ts';
import { encodePly } from './ply.ts';
import { reconstruct, type PointCloud, type ReconstructionParameters } from './reconstruct.ts';

export interface ComputeInput {
  image: Uint8Array;
  mask: Uint8Array;
  parameters: ReconstructionParameters;
  limits: ImageLimits;
}

export interface ComputeOutput {
  ply: Uint8Array;
  /** The PLY's digests, computed here so that uploading it hashes nothing on the event loop. */
  plySha256Hex: string;
  plyCrc32Base64: string;
  width: number;
  height: number;
  stats: Pick<PointCloud, 'count' | 'bounds' | 'maskPixels' | 'maskCoveragePercent'>;
  timings: { decode: number; reconstruct: number; encodePly: number };
}

export function compute(input: ComputeInput): ComputeOutput {
  const start = performance.now();
  const image = decodeImage(input.image, 'image', input.limits);
  const mask = decodeImage(input.mask, 'mask', input.limits);
  const decoded = performance.now();
  const cloud = reconstruct(image, mask, input.parameters);
  const reconstructed = performance.now();
  const ply = encodePly(cloud);
  const encoded = performance.now();
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(ply) >>> 0);
  return {
    ply,
    plySha256Hex: createHash('sha256').update(ply).digest('hex'),
    plyCrc32Base64: crc.toString('base64'),
    width: image.width,
    height: image.height,
    stats: {
      count: cloud.count,
      bounds: cloud.bounds,
      maskPixels: cloud.maskPixels,
      maskCoveragePercent: cloud.maskCoveragePercent,
    },
    timings: {
      decode: decoded - start,
      reconstruct: reconstructed - decoded,
      encodePly: encoded - reconstructed,
    },
  };
}
