import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleRun } from './example-results.ts';
import { checkResults, readResults, SchemaError, writeResults, type Results } from './results.ts';

const dir = mkdtempSync(join(tmpdir(), 'results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const results = (): Results => ({
  schemaVersion: 1,
  createdAt: '2026-12-02T18:00:00.000Z',
  region: 'us-east-1',
  runs: [exampleRun('r1', { jobs: 2 }, { waitModes: ['poll'] })],
});

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SchemaError);
    return (err as Error).message;
  }
  throw new Error('expected a SchemaError');
};

describe('results.json', () => {
  it('round-trips through the writer and the reader, both validating', () => {
    const path = join(dir, 'ok.json');
    writeResults(path, results());
    expect(readResults(path)).toEqual(results());
  });

  it('names each bad field of a bad file', () => {
    const bad = results() as unknown as { runs: Record<string, unknown>[] };
    const job = (bad.runs[0]!.jobs as Record<string, unknown>[])[1]!;
    (job.units as { lambda: { requests: number } }).lambda.requests = -3;
    job.orchestrator = 'temporal';
    bad.runs[0]!.clock = { kind: 'scale' }; // a scale clock needs its factor
    delete (bad.runs[0]!.scenario as { parameters: Record<string, unknown> }).parameters.inferenceSeconds;
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(bad));
    const message = messageOf(() => readResults(path));
    expect(message).toContain(path);
    expect(message).toContain('/runs/0/jobs/1/units/lambda/requests: must be >= 0');
    expect(message).toContain(
      '/runs/0/jobs/1/orchestrator: must be equal to one of the allowed values: "sf", "ldf"',
    );
    expect(message).toContain("/runs/0/scenario/parameters: must have required property 'inferenceSeconds'");
    expect(message).toMatch(/\/runs\/0\/clock.*factor/);
  });

  it('refuses an unknown field, naming it', () => {
    const bad = { ...results(), cost: 3 };
    expect(messageOf(() => checkResults(bad))).toContain(
      "(top level): must NOT have additional properties 'cost'",
    );
  });

  it('the writer refuses to write an invalid object', () => {
    const path = join(dir, 'never.json');
    const bad = { ...results(), region: '' };
    expect(messageOf(() => writeResults(path, bad))).toContain('/region');
    expect(() => readFileSync(path)).toThrow();
  });

  it('names a file that is missing or not JSON', () => {
    expect(messageOf(() => readResults(join(dir, 'missing.json')))).toMatch(/cannot read results file/);
    const path = join(dir, 'text.json');
    writeFileSync(path, 'not json');
    expect(messageOf(() => readResults(path))).toMatch(/is not JSON/);
  });
});
