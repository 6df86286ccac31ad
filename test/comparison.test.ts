// The comparison's numbers against the raw histories: a short default scenario (2 cold jobs in a
// burst, then 2 warm ones, both wait modes) runs on the local cloud through the runner; before each
// cloud goes down, this test lists every execution through the services' own APIs and recounts its
// units by hand from the raw events, with none of the collector's code. The results must match.
import {
  GetDurableExecutionHistoryCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { localSessions } from '../bench/scenario/local-session.ts';
import { runScenario, type Session } from '../bench/scenario/run.ts';
import type { ScenarioSpec } from '../bench/scenario/scenarios.ts';
import { checkResults, type OrchestratorId, type Results } from '../bench/report/results.ts';
import type { Progress } from '../bench/scenario/drive.ts';

const SPEC: ScenarioSpec = {
  scenario: 'default',
  waitModes: ['poll', 'event'],
  seed: 1,
  jobs: 2,
  ratePerHour: 6,
  durationSeconds: 3600,
  endpointStartSeconds: 120,
  endpointDeleteSeconds: 30,
  inferenceSeconds: 10,
  endpointConcurrency: 1,
  idleWindows: [60],
  fallbacks: [60],
  pollSeconds: 5,
  pollMaxSeconds: 20,
  maskDelaySeconds: 0,
};

interface Recount {
  executions: number;
  stateTransitions: number;
  taskLambdas: number;
  durableBilled: number;
  durableInvocations: number;
}

const silent: Progress = { phase: () => {}, tick: () => {}, line: () => {}, end: () => {} };

/** Every execution of the session's cloud, its units counted straight off the events. */
async function recount(session: Session): Promise<Record<OrchestratorId, Recount>> {
  const t = session.target;
  const lambda = new LambdaClient(t.clientConfig('lambda'));
  const sfn = new SFNClient(t.clientConfig('stepfunctions'));
  const zero = (): Recount => ({
    executions: 0,
    stateTransitions: 0,
    taskLambdas: 0,
    durableBilled: 0,
    durableInvocations: 0,
  });
  const out = { sf: zero(), ldf: zero() };
  try {
    const machine = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: t.stateMachineArn, maxResults: 1000 }),
    );
    for (const e of machine.executions ?? []) {
      const { events = [] } = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn: e.executionArn, maxResults: 1000 }),
      );
      out.sf.executions++;
      // A clean run retries nothing: one transition per state entered.
      out.sf.stateTransitions += events.filter((ev) => ev.type?.endsWith('StateEntered')).length;
      out.sf.taskLambdas += events.filter(
        (ev) => ev.type === 'TaskScheduled' && ev.taskScheduledEventDetails?.resourceType === 'lambda',
      ).length;
    }
    const durable = await lambda.send(
      new ListDurableExecutionsByFunctionCommand({ FunctionName: t.durableFunctionName, MaxItems: 1000 }),
    );
    for (const e of durable.DurableExecutions ?? []) {
      const { Events = [] } = await lambda.send(
        new GetDurableExecutionHistoryCommand({ DurableExecutionArn: e.DurableExecutionArn, MaxItems: 1000 }),
      );
      out.ldf.executions++;
      // AWS bills every operation start: each step attempt, each condition check, a callback's 3.
      out.ldf.durableBilled += Events.filter((ev) =>
        /^(Step|Wait|Callback|Context|ChainedInvoke)Started$/.test(ev.EventType ?? ''),
      ).length;
      out.ldf.durableInvocations += Events.filter((ev) => ev.EventType === 'InvocationCompleted').length;
    }
    return out;
  } finally {
    lambda.destroy();
    sfn.destroy();
  }
}

describe('the comparison, recounted from the raw histories', () => {
  it('bills each orchestrator exactly what its executions recorded, in both wait modes', async () => {
    const recounts: Record<OrchestratorId, Recount>[] = [];
    const open = localSessions(SPEC, undefined, 'skip');
    const results: Results = await runScenario(
      SPEC,
      async (config) => {
        const session = await open(config);
        return {
          ...session,
          close: async () => {
            recounts.push(await recount(session));
            await session.close();
          },
        };
      },
      { timeoutSeconds: 240, inFlight: 8, runId: 'recount' },
      { progress: silent, signal: new AbortController().signal },
    );
    expect(() => checkResults(results)).not.toThrow();
    expect(results.runs.map((r) => r.waitModes[0])).toEqual(['poll', 'event']);
    results.runs.forEach((run, i) => {
      const jobs = (o: OrchestratorId) => run.jobs.filter((j) => j.orchestrator === o);
      const total = (o: OrchestratorId, f: (j: (typeof run.jobs)[number]) => number) =>
        jobs(o).reduce((n, j) => n + f(j), 0);
      for (const o of ['sf', 'ldf'] as const) {
        expect(jobs(o).map((j) => j.outcome)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
        // The burst's jobs race for the start and one wins; on a loaded machine a waiting job may
        // also take over a start that looks stalled (the protocol's takeover), which counts as a start
        // too. Exactly one CreateEndpoint is the scenario contract's and bench:endpoint-acquire's to hold.
        expect(jobs(o).filter((j) => j.started).length).toBeGreaterThanOrEqual(1);
        expect(jobs(o).filter((j) => j.shape === 'warm').length).toBeGreaterThanOrEqual(1);
        expect(total(o, (j) => j.units.sagemaker.endpointStarts)).toBe(
          jobs(o).filter((j) => j.started).length,
        );
        expect(total(o, (j) => j.units.dynamodb.writeRequestUnits)).toBeGreaterThan(0);
        for (const j of jobs(o)) {
          const p = j.latency.phases;
          expect(p.admitted!).toBeLessThanOrEqual(p.inService!);
          expect(p.inService!).toBeLessThanOrEqual(p.inferred!);
          expect(j.latency.uploadToResultSeconds).toBe(p.recorded);
        }
      }
      const r = recounts[i]!;
      expect(r.sf.executions).toBe(4);
      expect(r.ldf.executions).toBe(4);
      expect(total('sf', (j) => j.units.stepFunctions.stateTransitions)).toBe(r.sf.stateTransitions);
      expect(total('sf', (j) => j.units.lambda.requests)).toBe(r.sf.taskLambdas);
      expect(total('ldf', (j) => j.units.durable.operationsBilled)).toBe(r.ldf.durableBilled);
      expect(total('ldf', (j) => j.units.lambda.requests)).toBe(r.ldf.durableInvocations);
    });
  }, 300_000);
});
