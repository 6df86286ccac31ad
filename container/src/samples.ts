// Deterministic sample uploads (an image and its mask) of several sizes and shapes, for tests,
// benchmarks and the main job. The same (shape, size, seed) always gives the same bytes.
import { seededRandom } from '../../shared/random.ts';
import { encodePng, type Image } from './images.ts';

export const SHAPES = ['disc', 'blob', 'star', 'ring', 'rectangle'] as const;
export type Shape = (typeof SHAPES)[number];

export interface Sample {
  shape: Shape;
  width: number;
  height: number;
  image: Image;
  mask: Image;
}

/** Whether the point at polar (r, angle) relative to the centre, in units of the half-size, is inside. */
function insideTest(shape: Shape, rand: () => number): (dx: number, dy: number) => boolean {
  switch (shape) {
    case 'disc':
      return (dx, dy) => dx * dx + dy * dy <= 0.7 * 0.7;
    case 'ring':
      return (dx, dy) => {
        const r2 = dx * dx + dy * dy;
        return r2 <= 0.75 * 0.75 && r2 >= 0.35 * 0.35;
      };
    case 'rectangle':
      return (dx, dy) => Math.abs(dx) <= 0.8 && Math.abs(dy) <= 0.45;
    case 'star':
      return (dx, dy) => {
        const angle = Math.atan2(dy, dx);
        const radius = 0.45 + 0.3 * Math.cos(5 * angle);
        return Math.hypot(dx, dy) <= radius;
      };
    case 'blob': {
      const waves = Array.from({ length: 4 }, (_, k) => ({
        amp: 0.05 + 0.08 * rand(),
        phase: 6.283 * rand(),
        k: k + 2,
      }));
      return (dx, dy) => {
        const angle = Math.atan2(dy, dx);
        const radius = 0.55 + waves.reduce((sum, w) => sum + w.amp * Math.sin(w.k * angle + w.phase), 0);
        return Math.hypot(dx, dy) <= radius;
      };
    }
  }
}

export function generateSample(shape: Shape, width: number, height = width, seed = 1): Sample {
  const rand = seededRandom(seed * 7919 + SHAPES.indexOf(shape));
  const inside = insideTest(shape, rand);
  const base = [64 + 160 * rand(), 64 + 160 * rand(), 64 + 160 * rand()];
  const image: Image = { width, height, rgba: new Uint8Array(width * height * 4) };
  const mask: Image = { width, height, rgba: new Uint8Array(width * height * 4) };
  const half = Math.min(width, height) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = (x + 0.5 - width / 2) / half;
      const dy = (y + 0.5 - height / 2) / half;
      const o = (y * width + x) * 4;
      const isObject = inside(dx, dy);
      // The object is shaded and striped, the background a plain gradient, so colours are checkable.
      const shade = isObject ? 0.6 + 0.4 * Math.cos(dx * 2) * Math.cos(dy * 2) : 0.3 + 0.2 * (y / height);
      const stripe = isObject && Math.floor((dx + dy) * 8) % 2 === 0 ? 0.85 : 1;
      for (let c = 0; c < 3; c++)
        image.rgba[o + c] = Math.round((isObject ? base[c]! : 200) * shade * stripe);
      image.rgba[o + 3] = 255;
      const m = isObject ? 255 : 0;
      mask.rgba[o] = m;
      mask.rgba[o + 1] = m;
      mask.rgba[o + 2] = m;
      mask.rgba[o + 3] = 255;
    }
  }
  return { shape, width, height, image, mask };
}

/** The PNG files of a sample, as uploaded: `{name}_image.png` and `{name}_mask.png`. */
export function samplePngs(sample: Sample): { image: Buffer; mask: Buffer } {
  return { image: encodePng(sample.image), mask: encodePng(sample.mask) };
}
