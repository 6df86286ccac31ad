// Each invariant against states built to break it: a clean run of both orchestrators passes, and every
// check fails on the state that violates it, naming the job, the execution or the endpoint involved.
import { describe, expect, it } from 'vitest';
import type { EndpointItem } from '../shared/endpoint-lifecycle/endpoint-store.ts';
import type { JobStatus } from '../shared/job-model.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { checkInvariants, orchestratorOfExecution, type Invariant } from './invariants.ts';
import type { EndpointRecord, ExecutionRecord, Snapshot } from './snapshot.ts';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const at = (s: number): number => T0 + s * 1000;
const iso = (s: number): string => new Date(at(s)).toISOString();
const IDLE = 600;
const NAMES = { sf: 'reconstruct-3d-sf', ldf: 'reconstruct-3d-ldf' };

const arnOf = (o: Orchestrator, n: string): string =>
  o === 'sf'
    ? `arn:aws:states:us-east-1:000000000000:execution:sfn-orchestrator:${n}`
    : `arn:aws:lambda:us-east-1:000000000000:function:durable-orchestrator:1/durable-execution/${n}/x`;

type Item = Record<string, unknown>;

/** A job item as the JobStore writes it: admitted at 0, serving at 300 to 330 s, ended at 331 s. */
function jobItem(o: Orchestrator, jobId: string, status: JobStatus, extra: Item = {}): Item {
  const phases: Partial<Record<JobStatus, string>> = { RECEIVED: iso(0), MASK_READY: iso(1) };
  if (status !== 'RECEIVED' && status !== 'REJECTED') {
    Object.assign(phases, {
      ENDPOINT_ACQUIRED: iso(2),
      ENDPOINT_READY: iso(300),
      INFERRING: iso(300),
      INFERRED: iso(330),
    });
  }
  if (status !== 'RECEIVED') phases[status] = iso(331);
  return {
    pk: `${o}#user#u1`,
    sk: `${o}#job#${jobId}`,
    gsi1pk: `${o}#status#${status}`,
    gsi1sk: `${o}#${iso(331)}#${jobId}`,
    orchestrator: o,
    userId: 'u1',
    jobId,
    name: `chair-${jobId}`,
    bucket: 'uploads',
    imageKey: `users/u1/input/chair-${jobId}_image.png`,
    outputKey: `users/u1/output/${o}/chair-${jobId}.ply`,
    errorKey: `users/u1/output/${o}/chair-${jobId}_error.json`,
    status,
    phases,
    createdAt: iso(0),
    updatedAt: iso(331),
    deliveries: 1,
    createdBy: arnOf(o, jobId),
    executions: new Set([arnOf(o, jobId)]),
    ...extra,
  };
}

function stoppedItem(o: Orchestrator, extra: Partial<EndpointItem> = {}): EndpointItem {
  return {
    name: NAMES[o],
    state: 'Stopped',
    generation: 1,
    leases: {},
    waiters: {},
    version: 5,
    startedBy: 'j1',
    startedAt: at(2),
    inServiceAt: at(300),
    lastReleaseAt: at(332),
    stoppingAt: at(332 + IDLE),
    ...extra,
  };
}

function endpointRow(item: EndpointItem): Item {
  const o = item.name.endsWith('-sf') ? 'sf' : 'ldf';
  return { pk: `${o}#endpoint#${item.name}`, sk: `${o}#lease`, ...item };
}

/**
 * A clean run: job j1 completed under each orchestrator, its execution started the endpoint (generation
 * 1), released it at 332 s and stopped it after the idle window; SageMaker has no endpoint left.
 */
function cleanSnapshot(): Snapshot {
  const executions: ExecutionRecord[] = (['sf', 'ldf'] as const).map((o) => ({
    arn: arnOf(o, 'j1'),
    orchestrator: o,
    status: 'SUCCEEDED',
    startedAt: at(0),
    endedAt: at(332 + IDLE + 40),
    creates: [{ generation: 1, at: at(3) }],
    stopBegan: at(332 + IDLE),
  }));
  const endpoints: EndpointRecord[] = (['sf', 'ldf'] as const).map((o) => ({
    orchestrator: o,
    name: NAMES[o],
    item: stoppedItem(o),
    sageMaker: { status: 'missing' },
  }));
  return {
    now: at(2000),
    idleWindowMs: IDLE * 1000,
    jobRetentionMs: 30 * 86_400_000,
    items: [
      jobItem('sf', 'j1', 'COMPLETED'),
      jobItem('ldf', 'j1', 'COMPLETED'),
      ...endpoints.map((e) => endpointRow(e.item)),
    ],
    executions,
    endpoints,
    endpointNames: NAMES,
  };
}

function withEndpoint(s: Snapshot, o: Orchestrator, change: Partial<EndpointRecord>): Snapshot {
  const endpoints = s.endpoints.map((e) => (e.orchestrator === o ? { ...e, ...change } : e));
  return { ...s, endpoints };
}

function withExecution(s: Snapshot, arn: string, change: Partial<ExecutionRecord>): Snapshot {
  return { ...s, executions: s.executions.map((e) => (e.arn === arn ? { ...e, ...change } : e)) };
}

function withItems(s: Snapshot, ...items: Item[]): Snapshot {
  const key = (i: Item): string => `${String(i.pk)}|${String(i.sk)}`;
  const replaced = new Set(items.map(key));
  return { ...s, items: [...s.items.filter((i) => !replaced.has(key(i))), ...items] };
}

const invariantsOf = (s: Snapshot): Invariant[] => checkInvariants(s).map((v) => v.invariant);

describe('checkInvariants', () => {
  it('finds nothing wrong in a clean run of both orchestrators', () => {
    expect(checkInvariants(cleanSnapshot())).toEqual([]);
  });

  describe('jobs-end: every admitted job ends once its execution ended', () => {
    it('flags a job left RECEIVED whose execution timed out, naming the job and the execution', () => {
      const s = withExecution(
        withItems(cleanSnapshot(), jobItem('ldf', 'j1', 'RECEIVED')),
        arnOf('ldf', 'j1'),
        { status: 'TIMED_OUT', creates: [] },
      );
      const [v, ...rest] = checkInvariants(s).filter((x) => x.invariant === 'jobs-end');
      expect(rest).toEqual([]);
      expect(v).toMatchObject({
        orchestrator: 'ldf',
        job: { jobId: 'j1', userId: 'u1', status: 'RECEIVED' },
        execution: arnOf('ldf', 'j1'),
      });
      expect(v!.problem).toContain('ended TIMED_OUT');
      expect(v!.fix).toContain('aws lambda get-durable-execution');
    });

    it('flags a job whose execution the service no longer knows', () => {
      const s = withItems(cleanSnapshot(), jobItem('sf', 'j2', 'INFERRING'));
      const v = checkInvariants(s).find((x) => x.invariant === 'jobs-end');
      expect(v?.job?.jobId).toBe('j2');
      expect(v?.problem).toContain('unknown to Step Functions');
    });

    it('leaves a job alone while its execution runs', () => {
      const s = withExecution(
        withItems(cleanSnapshot(), jobItem('sf', 'j1', 'INFERRING')),
        arnOf('sf', 'j1'),
        { status: 'RUNNING' },
      );
      expect(invariantsOf(s)).not.toContain('jobs-end');
    });
  });

  describe("executions-agree: an ended execution and its job's status agree", () => {
    it('flags a SUCCEEDED execution whose job FAILED, and a FAILED one whose job COMPLETED', () => {
      const s = withExecution(
        withItems(cleanSnapshot(), jobItem('sf', 'j1', 'FAILED', { reason: 'InferenceError: boom' })),
        arnOf('ldf', 'j1'),
        { status: 'FAILED' },
      );
      const found = checkInvariants(s).filter((x) => x.invariant === 'executions-agree');
      expect(found.map((v) => [v.orchestrator, v.execution]).sort()).toEqual([
        ['ldf', arnOf('ldf', 'j1')],
        ['sf', arnOf('sf', 'j1')],
      ]);
      expect(found.find((v) => v.orchestrator === 'sf')!.problem).toContain(
        'ended SUCCEEDED but its job is FAILED',
      );
    });

    it('accepts a FAILED execution of a FAILED job and a SUCCEEDED one of a REJECTED job', () => {
      const s = withExecution(
        withItems(cleanSnapshot(), jobItem('sf', 'j1', 'FAILED'), jobItem('ldf', 'j1', 'REJECTED')),
        arnOf('sf', 'j1'),
        { status: 'FAILED' },
      );
      expect(invariantsOf(s)).not.toContain('executions-agree');
    });

    it("flags a duplicate delivery's execution that did not succeed", () => {
      const dup = arnOf('sf', 'dup');
      const s = withItems(
        {
          ...cleanSnapshot(),
          executions: [
            ...cleanSnapshot().executions,
            { ...cleanSnapshot().executions[0]!, arn: dup, status: 'FAILED', creates: [] },
          ],
        },
        jobItem('sf', 'j1', 'COMPLETED', { executions: new Set([arnOf('sf', 'j1'), dup]), deliveries: 2 }),
      );
      const v = checkInvariants(s).find((x) => x.invariant === 'executions-agree');
      expect(v).toMatchObject({ execution: dup, job: { jobId: 'j1' } });
      expect(v!.problem).toContain('duplicate delivery');
    });

    it('flags an ended execution that no job item names', () => {
      const stray = arnOf('ldf', 'stray');
      const s = { ...cleanSnapshot() };
      s.executions = [
        ...s.executions,
        { arn: stray, orchestrator: 'ldf', status: 'FAILED', startedAt: at(5), creates: [] },
      ];
      const v = checkInvariants(s).find((x) => x.invariant === 'executions-agree');
      expect(v).toMatchObject({ execution: stray, orchestrator: 'ldf' });
      expect(v!.problem).toContain('no ldf# job item names it');
    });
  });

  describe('idle-endpoint: no endpoint running past its idle window', () => {
    const serving = (lastRelease: number, leases: Record<string, number> = {}): Partial<EndpointRecord> => ({
      item: stoppedItem('sf', {
        state: 'InService',
        lastReleaseAt: at(lastRelease),
        leases,
        stoppingAt: undefined,
      }),
      sageMaker: { status: 'InService' },
    });

    it('flags an InService endpoint idle for longer than the window and the margin', () => {
      const s = withEndpoint(cleanSnapshot(), 'sf', serving(2000 - IDLE - 61));
      const v = checkInvariants(s).filter((x) => x.invariant === 'idle-endpoint');
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({ orchestrator: 'sf', endpoint: NAMES.sf });
      expect(v[0]!.fix).toContain(`aws sagemaker delete-endpoint --endpoint-name ${NAMES.sf}`);
    });

    it('keeps one within the window plus the margin, or under a live lease', () => {
      expect(invariantsOf(withEndpoint(cleanSnapshot(), 'sf', serving(2000 - IDLE - 59)))).not.toContain(
        'idle-endpoint',
      );
      const leased = withEndpoint(cleanSnapshot(), 'sf', serving(0, { j9: at(3000) }));
      expect(invariantsOf(leased)).not.toContain('idle-endpoint');
    });

    it('counts an expired lease as idle from its expiry', () => {
      const expired = withEndpoint(cleanSnapshot(), 'sf', serving(0, { j9: at(1000) }));
      expect(invariantsOf(expired)).toContain('idle-endpoint');
      const recent = withEndpoint(cleanSnapshot(), 'sf', serving(0, { j9: at(1900) }));
      expect(invariantsOf(recent)).not.toContain('idle-endpoint');
    });

    it('flags an endpoint SageMaker serves while its item says Stopped', () => {
      const s = withEndpoint(cleanSnapshot(), 'ldf', { sageMaker: { status: 'InService' } });
      const v = checkInvariants(s).find((x) => x.invariant === 'idle-endpoint');
      expect(v?.problem).toContain('its item says Stopped');
    });

    it('flags a stop that began long ago while SageMaker still serves the endpoint', () => {
      const s = withEndpoint(cleanSnapshot(), 'sf', {
        item: stoppedItem('sf', { state: 'Stopping', stoppingAt: at(1000) }),
        sageMaker: { status: 'InService' },
      });
      expect(invariantsOf(s)).toContain('idle-endpoint');
    });
  });

  describe('nothing-left: no lease or waiter left once its executions ended', () => {
    it("flags a lease and a waiter of a job whose every execution ended, with the fix's command", () => {
      const s = withEndpoint(cleanSnapshot(), 'sf', {
        item: stoppedItem('sf', {
          leases: { j1: at(5000) },
          waiters: { j1: { kind: 'sfn-task-token', token: 't', generation: 1, registeredAt: at(3) } },
        }),
      });
      const found = checkInvariants(s).filter((x) => x.invariant === 'nothing-left');
      expect(found.map((v) => [v.job?.jobId, v.execution])).toEqual([
        ['j1', arnOf('sf', 'j1')],
        ['j1', arnOf('sf', 'j1')],
      ]);
      expect(found[0]!.fix).toContain('REMOVE leases.#j');
      expect(found[1]!.problem).toContain('waiter of job j1');
    });

    it('keeps a lease of a job whose execution still runs', () => {
      const s = withExecution(
        withEndpoint(cleanSnapshot(), 'sf', { item: stoppedItem('sf', { leases: { j1: at(5000) } }) }),
        arnOf('sf', 'j1'),
        { status: 'RUNNING' },
      );
      expect(invariantsOf(s)).not.toContain('nothing-left');
    });

    it('flags a lease of an unknown job once every execution of the orchestrator ended', () => {
      const s = withEndpoint(cleanSnapshot(), 'ldf', {
        item: stoppedItem('ldf', { leases: { ghost: at(5000) } }),
      });
      expect(checkInvariants(s).find((x) => x.invariant === 'nothing-left')?.job?.jobId).toBe('ghost');
    });

    it('flags a mask waiter left on an ended job', () => {
      const s = withItems(
        cleanSnapshot(),
        jobItem('ldf', 'j1', 'COMPLETED', { maskWaiter: { kind: 'durable-callback', token: 'c' } }),
      );
      expect(checkInvariants(s).find((x) => x.invariant === 'nothing-left')?.problem).toContain(
        'mask waiter',
      );
    });
  });

  describe('one-start-per-generation', () => {
    it('flags two CreateEndpoint calls in one generation, naming both executions', () => {
      const second = { ...cleanSnapshot().executions[1]!, arn: arnOf('ldf', 'j2') };
      const s = withItems(
        { ...cleanSnapshot(), executions: [...cleanSnapshot().executions, second] },
        jobItem('ldf', 'j2', 'COMPLETED'),
      );
      const found = checkInvariants(s).filter((x) => x.invariant === 'one-start-per-generation');
      expect(found.map((v) => v.problem)).toEqual([
        `2 CreateEndpoint calls for generation 1, by ${arnOf('ldf', 'j1')}, ${arnOf('ldf', 'j2')}`,
        "2 CreateEndpoint calls in the executions' histories, but the endpoint item has started only 1 generation(s)",
      ]);
    });

    it('flags a start of a generation the item never reached', () => {
      const s = withExecution(cleanSnapshot(), arnOf('sf', 'j1'), { creates: [{ generation: 2 }] });
      expect(checkInvariants(s).find((x) => x.invariant === 'one-start-per-generation')?.problem).toContain(
        'generation 2, which the endpoint item (at generation 1) never reached',
      );
    });

    it('accepts one start in each of several generations', () => {
      const s = withEndpoint(
        withExecution(cleanSnapshot(), arnOf('sf', 'j1'), {
          creates: [{ generation: 1 }, { generation: 2 }],
        }),
        'sf',
        { item: stoppedItem('sf', { generation: 2 }) },
      );
      expect(invariantsOf(s)).not.toContain('one-start-per-generation');
    });
  });

  describe('no-stop-under-lease', () => {
    it("flags a stop that began while a job was using the endpoint, from an execution's history", () => {
      const s = withExecution(cleanSnapshot(), arnOf('sf', 'j1'), { stopBegan: at(310) });
      const v = checkInvariants(s).find((x) => x.invariant === 'no-stop-under-lease');
      expect(v).toMatchObject({ job: { jobId: 'j1' }, execution: arnOf('sf', 'j1'), endpoint: NAMES.sf });
    });

    it('flags one the endpoint item records, while a job still infers', () => {
      const s = withEndpoint(
        withItems(
          cleanSnapshot(),
          jobItem('ldf', 'j3', 'INFERRING', {
            phases: {
              RECEIVED: iso(0),
              ENDPOINT_ACQUIRED: iso(1000),
              ENDPOINT_READY: iso(1001),
              INFERRING: iso(1002),
            },
          }),
        ),
        'ldf',
        { item: stoppedItem('ldf', { state: 'Stopping', stoppingAt: at(1500) }) },
      );
      const found = checkInvariants(s).filter((x) => x.invariant === 'no-stop-under-lease');
      expect(found.map((v) => v.job?.jobId)).toEqual(['j3']);
      expect(found[0]!.problem).toContain('the item records it');
    });

    it('ignores a job that never found its endpoint ready (a failed start drops its lease)', () => {
      const s = withItems(
        withExecution(cleanSnapshot(), arnOf('sf', 'j1'), { stopBegan: at(10) }),
        jobItem('sf', 'j1', 'FAILED', {
          phases: { RECEIVED: iso(0), ENDPOINT_ACQUIRED: iso(2), FAILED: iso(200) },
        }),
      );
      expect(invariantsOf(withExecution(s, arnOf('sf', 'j1'), { status: 'FAILED' }))).toEqual([]);
    });
  });

  describe('prefixes-apart: sf# and ldf# items never cross', () => {
    it("flags an sf job naming an ldf execution and the ldf orchestrator's artifact", () => {
      const s = withItems(
        cleanSnapshot(),
        jobItem('sf', 'j1', 'COMPLETED', {
          executions: new Set([arnOf('sf', 'j1'), arnOf('ldf', 'j1')]),
          outputKey: 'users/u1/output/ldf/chair-j1.ply',
        }),
      );
      const v = checkInvariants(s).find((x) => x.invariant === 'prefixes-apart');
      expect(v?.orchestrator).toBe('sf');
      expect(v?.problem).toContain(`names the ldf execution ${arnOf('ldf', 'j1')}`);
      expect(v?.problem).toContain('artifact key users/u1/output/ldf/chair-j1.ply');
    });

    it('flags an item whose index key carries the other prefix, and one with no prefix', () => {
      const s = withItems(
        cleanSnapshot(),
        jobItem('ldf', 'j1', 'COMPLETED', { gsi1pk: 'sf#status#COMPLETED' }),
        { pk: 'user#u1', sk: 'job#j9' },
      );
      const problems = checkInvariants(s)
        .filter((x) => x.invariant === 'prefixes-apart')
        .map((v) => v.problem);
      expect(problems).toEqual([
        expect.stringContaining("its gsi1pk 'sf#status#COMPLETED' does not start with ldf#"),
        expect.stringContaining('no orchestrator prefix'),
      ]);
    });

    it("flags an endpoint item governing the other's endpoint, a waiter of the other kind, a lease of the other's job", () => {
      const s = withItems(
        cleanSnapshot(),
        { pk: `sf#endpoint#${NAMES.ldf}`, sk: 'sf#lease', state: 'Stopped' },
        jobItem('ldf', 'only-ldf', 'COMPLETED'),
        endpointRow(
          stoppedItem('ldf', {
            waiters: { j1: { kind: 'sfn-task-token', token: 't', generation: 1, registeredAt: 0 } },
          }),
        ),
        endpointRow(stoppedItem('sf', { leases: { 'only-ldf': at(5000) } })),
      );
      const problems = checkInvariants(s)
        .filter((x) => x.invariant === 'prefixes-apart')
        .map((v) => v.problem);
      expect(problems).toEqual([
        expect.stringContaining(`governs the ldf orchestrator's endpoint ${NAMES.ldf}`),
        expect.stringContaining("job j1's waiter is a sfn-task-token"),
        expect.stringContaining('held by job only-ldf, which only the ldf orchestrator has'),
      ]);
    });
  });

  it('tells the orchestrator of an execution ARN', () => {
    expect(orchestratorOfExecution(arnOf('sf', 'a'))).toBe('sf');
    expect(orchestratorOfExecution(arnOf('ldf', 'a'))).toBe('ldf');
    expect(orchestratorOfExecution('holder-1')).toBeUndefined();
  });
});
