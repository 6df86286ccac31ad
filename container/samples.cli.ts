// `npm run samples`: writes deterministic sample uploads to a folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSample, samplePngs, SHAPES, type Shape } from './src/samples.ts';

const HELP = `Usage: npm run samples -- [--out DIR] [--sizes 256,512,1024] [--shapes ${SHAPES.join(',')}] [--seed N]

Writes {shape}-{size}_image.png and {shape}-{size}_mask.png for every shape and size: the same
arguments always give the same bytes. Defaults: --out samples, every shape, sizes 256,512,1024, seed 1.
Upload a pair as users/{userId}/input/{name}_image.png and users/{userId}/input/{name}_mask.png.`;

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'samples' },
    sizes: { type: 'string', default: '256,512,1024' },
    shapes: { type: 'string', default: SHAPES.join(',') },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const fail = (message: string): never => {
  console.error(`${message}\n\n${HELP}`);
  process.exit(2);
};
const sizes = values.sizes.split(',').map(Number);
if (!sizes.every((s) => Number.isInteger(s) && s >= 8 && s <= 4096))
  fail(`--sizes must be integers 8-4096, got '${values.sizes}'`);
const shapes = values.shapes.split(',');
for (const s of shapes)
  if (!(SHAPES as readonly string[]).includes(s)) fail(`unknown shape '${s}'; shapes: ${SHAPES.join(', ')}`);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got '${values.seed}'`);

mkdirSync(values.out, { recursive: true });
for (const shape of shapes as Shape[]) {
  for (const size of sizes) {
    const pngs = samplePngs(generateSample(shape, size, size, seed));
    const name = `${shape}-${size}`;
    writeFileSync(join(values.out, `${name}_image.png`), pngs.image);
    writeFileSync(join(values.out, `${name}_mask.png`), pngs.mask);
    console.log(
      `${join(values.out, name)}_{image,mask}.png  (${pngs.image.length + pngs.mask.length} bytes)`,
    );
  }
}
