import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { BadRequest } from './errors.ts';
import { decodeImage, encodePng, type Image } from './images.ts';
import { encodePly, parsePly } from './ply.ts';
import { DEFAULT_PARAMETERS, distanceTransform, parseParameters, reconstruct } from './reconstruct.ts';
import { generateSample, samplePngs } from './samples.ts';

const LIMITS = { maxBytes: 10 * 2 ** 20, maxPixels: 2048 * 2048 };

describe('distanceTransform', () => {
  it('matches a brute-force Euclidean distance to the background', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const w = 23;
    const h = 17;
    const mask = Uint8Array.from({ length: w * h }, () => (rand() < 0.8 ? 1 : 0));
    const dist = distanceTransform(mask, w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (mask[y * w + x] !== 1) continue;
        // Background: every 0 pixel and the frame just outside the image.
        let best = Math.min(x + 1, y + 1, w - x, h - y);
        for (let yy = 0; yy < h; yy++)
          for (let xx = 0; xx < w; xx++)
            if (mask[yy * w + xx] === 0) best = Math.min(best, Math.hypot(xx - x, yy - y));
        expect(dist[y * w + x]).toBeCloseTo(best, 5);
      }
    }
  });
});

describe('reconstruct', () => {
  it('inflates a disc into a hemisphere, coloured from the image, inside the unit frame', () => {
    const sample = generateSample('disc', 200);
    const cloud = reconstruct(sample.image, sample.mask, DEFAULT_PARAMETERS);
    expect(cloud.count).toBe(cloud.maskPixels * 2);
    expect(cloud.maskCoveragePercent).toBeCloseTo((Math.PI * 0.7 * 0.7 * 100) / 4, 0);
    const [minX, minY, minZ] = cloud.bounds.min;
    const [maxX, maxY, maxZ] = cloud.bounds.max;
    // The disc has radius 0.7 in the unit frame; a hemisphere over it rises about as high.
    expect(maxX).toBeCloseTo(0.7, 1);
    expect(minY).toBeCloseTo(-0.7, 1);
    expect(maxZ).toBeCloseTo(0.7, 1);
    expect(minZ).toBeCloseTo(-maxZ, 5);
    expect(Math.max(maxX, maxY, -minX)).toBeLessThanOrEqual(1);
    // The first point's colour is the image pixel under it, not the background's grey.
    expect([cloud.colors[0], cloud.colors[1], cloud.colors[2]]).not.toEqual([0, 0, 0]);
  });

  it('honours stride, symmetric and inflation', () => {
    const sample = generateSample('star', 128);
    const full = reconstruct(sample.image, sample.mask, DEFAULT_PARAMETERS);
    const sparse = reconstruct(sample.image, sample.mask, {
      ...DEFAULT_PARAMETERS,
      stride: 2,
      symmetric: false,
      inflation: 0,
    });
    expect(sparse.count).toBeLessThan(full.count / 6);
    expect(sparse.bounds.max[2]).toBe(0);
  });

  it('refuses masks of another size and empty masks, naming the problem', () => {
    const a = generateSample('disc', 64);
    const b = generateSample('disc', 32);
    expect(() => reconstruct(a.image, b.mask, DEFAULT_PARAMETERS)).toThrow(
      new BadRequest('SizeMismatch', 'image is 64x64 but mask is 32x32; they must match'),
    );
    const empty: Image = { width: 64, height: 64, rgba: new Uint8Array(64 * 64 * 4) };
    expect(() => reconstruct(a.image, empty, DEFAULT_PARAMETERS)).toThrow(/mask is all black/);
    // A mask saved as 0s and 1s (a boolean array written as 8-bit) is all but black: say so.
    const ones: Image = { width: 64, height: 64, rgba: new Uint8Array(64 * 64 * 4).fill(1) };
    for (let j = 3; j < ones.rgba.length; j += 4) ones.rgba[j] = 255;
    expect(() => reconstruct(a.image, ones, DEFAULT_PARAMETERS)).toThrow(
      /brightest is 1\).*saved as 0 and 255/,
    );
  });

  it('validates parameters', () => {
    expect(parseParameters({ stride: 2 })).toEqual({ ...DEFAULT_PARAMETERS, stride: 2 });
    expect(() => parseParameters({ stride: 0 })).toThrow('parameters.stride must be an integer 1-64, got 0');
    expect(() => parseParameters('x')).toThrow("'parameters' must be an object");
  });
});

describe('images and PLY', () => {
  it('decode PNG and JPEG, and refuse what is not an image or too large before decoding it', () => {
    const sample = generateSample('blob', 64);
    const png = decodeImage(samplePngs(sample).image, 'image', LIMITS);
    expect(png).toMatchObject({ width: 64, height: 64 });
    expect(Buffer.from(png.rgba).equals(Buffer.from(sample.image.rgba))).toBe(true);
    const jpg = jpeg.encode({ width: 64, height: 64, data: Buffer.from(sample.image.rgba) }, 90).data;
    expect(decodeImage(jpg, 'image', LIMITS)).toMatchObject({ width: 64, height: 64 });
    expect(() => decodeImage(Buffer.from('GIF89a...'), 'mask', LIMITS)).toThrow(
      'mask is not a PNG or JPEG image',
    );
    expect(() =>
      decodeImage(encodePng(generateSample('disc', 100).image), 'image', { maxBytes: 1e6, maxPixels: 5000 }),
    ).toThrow('image is 100x100 = 10000 pixels; the limit is 5000');
    const truncated = samplePngs(sample).image.subarray(0, 100);
    expect(() => decodeImage(truncated, 'image', LIMITS)).toThrow(/could not be decoded as PNG/);
  });

  it('write a binary little-endian PLY that reads back exactly', () => {
    const sample = generateSample('ring', 48);
    const cloud = reconstruct(sample.image, sample.mask, DEFAULT_PARAMETERS);
    const file = encodePly(cloud);
    expect(file.toString('ascii', 0, 40)).toContain('format binary_little_endian 1.0');
    const parsed = parsePly(file);
    expect(parsed.count).toBe(cloud.count);
    expect(parsed.positions).toEqual(cloud.positions);
    expect(parsed.colors).toEqual(cloud.colors);
  });

  it('generates the same sample bytes for the same arguments', () => {
    expect(
      samplePngs(generateSample('blob', 96, 96, 7)).image.equals(
        samplePngs(generateSample('blob', 96, 96, 7)).image,
      ),
    ).toBe(true);
    expect(
      samplePngs(generateSample('blob', 96, 96, 7)).mask.equals(
        samplePngs(generateSample('blob', 96, 96, 8)).mask,
      ),
    ).toBe(false);
  });
});
