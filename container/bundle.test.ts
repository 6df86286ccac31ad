// The file the Dockerfile builds and runs: bundled by `npm run container:build`, started with plain
// `node server.mjs serve` (no tsx, no node_modules), it must honour the contract.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawnWatched } from '../local/common/child-process.ts';
import { freePort } from '../local/common/ports.ts';

describe('the container bundle', () => {
  it('builds, serves /ping, refuses unknown commands and stops on SIGTERM', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bundle-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const built = spawnSync(process.execPath, ['--import', 'tsx', 'container/build.cli.ts', '--out', out], {
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
    const server = join(out, 'server.mjs');
    expect(existsSync(join(out, 'compute-worker.mjs'))).toBe(true);

    const wrong = spawnSync(process.execPath, [server, 'train'], { cwd: out, encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("unknown command 'train'");

    const port = await freePort();
    const child = spawnWatched(process.execPath, [server, 'serve'], {
      SAGEMAKER_BIND_TO_PORT: String(port),
      MODEL_DIR: out,
      AWS_REGION: 'us-east-1',
    });
    try {
      await child.waitForLine(/"event":"model loaded"/, 20_000, 'the bundled server');
      expect((await fetch(`http://127.0.0.1:${port}/ping`)).status).toBe(200);
      const res = await fetch(`http://127.0.0.1:${port}/invocations`, {
        method: 'POST',
        body: '{"task":"x"}',
      });
      expect(res.status).toBe(400);
    } finally {
      await child.stop();
    }
    expect(child.output()).toContain('"event":"stopped"');
  });
});
