// The CPU part of generate_3d: decode both images, reconstruct, encode the PLY. It runs in a worker
// thread (compute-worker.ts), so the server's event loop stays free for /ping and I/O.
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
  return {
    ply,
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
