// `npm run container:build`: bundles the inference server into one ESM file for the container image
// (the Dockerfile runs this), so the image needs Node 22 and nothing else.
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'dist/container' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(
    'Usage: npm run container:build [-- --out DIR]\nWrites DIR/server.mjs and DIR/compute-worker.mjs (default dist/container); run it with `node DIR/server.mjs serve`.',
  );
  process.exit(0);
}
const outdir = resolve(values.out);
const outfile = join(outdir, 'server.mjs');
const result = await build({
  // The compute pool's worker thread is its own file beside the server (container/src/worker-pool.ts).
  entryPoints: [
    { in: new URL('src/main.ts', import.meta.url).pathname, out: 'server' },
    { in: new URL('src/compute-worker.ts', import.meta.url).pathname, out: 'compute-worker' },
  ],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outdir,
  outExtension: { '.js': '.mjs' },
  sourcemap: 'inline',
  // The bundled CommonJS libraries (pngjs, jpeg-js, the AWS SDK's parts) call require().
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`${outfile} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
