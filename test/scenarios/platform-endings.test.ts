// Executions the platform ends: stopped from outside while the job holds a lease on the endpoint, and
// timed out by the execution's own limit, for each orchestrator. The workflow never records these, so
// the job is recorded from outside (shared/execution-endings.ts): Step Functions' `Execution Status
// Change` event or the scheduled reconciler, whichever comes first; the job ends FAILED with the
// execution's error, exactly once (one `Job Failed`, one `_error.json`, however many see the ending),
// its lease and waiter are released, and the endpoint still stops after its idle window (the
// reconciler's guarded stop: the execution that would have stopped it is gone). On the skip clock:
// a day of execution time costs a few seconds, and every wait ends in simulated-time order, so no
// assertion depends on how fast the machine is. The test marks work in flight while it stops an
// execution, so nothing moves on between seeing the lease and the stop.
import { createServer, type Server } from 'node:http';
import { InvokeCommand, LambdaClient, StopDurableExecutionCommand } from '@aws-sdk/client-lambda';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../check/invariants.ts';
import { readSnapshot } from '../../check/snapshot.ts';
import { FUNCTIONS } from '../../infra/app-definition.ts';
import { OP } from '../../orchestrators/durable/workflow.ts';
import type { Job } from '../../shared/job-store.ts';
import type { Orchestrator } from '../../shared/keys.ts';
import { EXECUTION_TIMEOUT_SECONDS } from '../../shared/job-model.ts';
import { closeServer, listenOnLoopback } from '../../local/common/http-server.ts';
import { startWorld, type World } from '../support/scenario-world.ts';

const CREATE_SECONDS = EXECUTION_TIMEOUT_SECONDS + 3_600; // the endpoint serves only after the timeout
// Few runs in the simulated days these tests span (each is a real invocation); any period would do.
const RECONCILE_MINUTES = 360;
const IDLE_WINDOW = 600;
/** Long enough for the endpoint to come up, idle out its window, and be stopped by two reconciler runs. */
const UNTIL_STOPPED = CREATE_SECONDS + IDLE_WINDOW + 3 * RECONCILE_MINUTES * 60;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, look: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await pause(25);
  }
}

function platformEndings(orchestrator: Orchestrator): void {
  describe(`${orchestrator} orchestrator: executions the platform ends`, () => {
    let world: World;
    let lambda: LambdaClient;
    let sfn: SFNClient;
    let modelServer: Server;
    beforeAll(async () => {
      // No job here reaches its inference: a model server that only answers SageMaker's /ping spares
      // a container process per endpoint start.
      modelServer = createServer((req, res) => void req.resume().on('end', () => res.writeHead(200).end()));
      const container = await listenOnLoopback(modelServer);
      world = await startWorld(orchestrator, 'event', {
        container,
        clock: 'skip',
        settings: {
          idleWindowSeconds: IDLE_WINDOW,
          maskWaitSeconds: 300,
          endpointWaitSeconds: 2 * EXECUTION_TIMEOUT_SECONDS,
          leaseTtlSeconds: 2 * EXECUTION_TIMEOUT_SECONDS,
          pollSeconds: 600,
          pollMaxSeconds: 600,
          // A few rounds of the endpoint wait in a day: each is a callback timeout and one look.
          eventFallbackSeconds: 20_000,
          reconcileIntervalMinutes: RECONCILE_MINUTES,
        },
        sagemakerTimings: { createSeconds: CREATE_SECONDS, deleteSeconds: 30 },
      });
      lambda = new LambdaClient(world.cloud.clientConfig('lambda'));
      sfn = new SFNClient(world.cloud.clientConfig('stepfunctions'));
    });
    afterAll(async () => {
      lambda?.destroy();
      sfn?.destroy();
      await world?.stop();
      if (modelServer) await closeServer(modelServer);
    });

    const creates = (): number =>
      world.cloud.sagemakerEmulator
        .calls()
        .filter(
          (c) =>
            c.operation === 'CreateEndpoint' && c.endpointName === world.endpointName && c.outcome === 'ok',
        ).length;

    /** What every platform ending must leave: the job FAILED once, nothing held, the endpoint gone. */
    async function checkEnded(user: string, name: string, reason: RegExp, createsBefore: number) {
      // Simulated time passes (free on the skip clock) until the endpoint is up, idle and stopped.
      await world.cloud.time.sleep(UNTIL_STOPPED);
      await world.cloud.bus.idle();
      const job = (await world.job(user, name))!;
      expect(job.status, job.reason).toBe('FAILED');
      expect(job.reason).toMatch(reason);
      const notes = world.notifications.filter((n) => (n.detail as { jobId?: string }).jobId === job.jobId);
      expect(
        notes.map((n) => n['detail-type']),
        'exactly one notification',
      ).toEqual(['Job Failed']);
      const report = JSON.parse((await world.object(job.errorKey!)) ?? '{}') as {
        status?: string;
        error?: { error?: string; message?: string };
      };
      expect(report.status).toBe('FAILED');
      expect(`${report.error?.error}: ${report.error?.message}`).toBe(job.reason);
      const item = await world.endpointItem();
      expect(item.leases, 'the lease is released').toEqual({});
      expect(item.waiters, 'the waiter is gone').toEqual({});
      expect(creates() - createsBefore, 'one start').toBe(1);
      expect(item.state, 'the endpoint stopped after its idle window').toBe('Stopped');
      expect(await world.sageMakerStatus()).toBe('missing');
      expect(checkInvariants(await readSnapshot(world.target)), 'dvs check').toEqual([]);
      if (orchestrator === 'sf') {
        // Step Functions' own status change reached the reconciler through the app's rule.
        const delivered = world.cloud.bus
          .deliveries()
          .filter((d) => d.rule === 'execution-ended' && d.target === 'job-reconciler' && d.ok);
        expect(delivered.length).toBeGreaterThan(endingsSeen);
        endingsSeen = delivered.length;
      }
    }
    let endingsSeen = 0;

    it("stopped from outside while it holds a lease: FAILED with the stop's error, once; the endpoint still stops", async () => {
      const before = creates();
      // Nothing moves on (the skip clock does not jump) between seeing the lease and the stop.
      const hold = world.cloud.time.begin();
      let job: Job;
      try {
        await world.upload('u-stop', 'stopped');
        // Its lease held and its endpoint starting: a GPU is being paid for, and only its job uses it.
        job = await until('the job taking its lease and starting the endpoint', async () => {
          const found = await world.job('u-stop', 'stopped');
          if (!found || (await world.endpointItem()).leases[found.jobId] === undefined) return undefined;
          return (await world.sageMakerStatus()) === 'Creating' ? found : undefined;
        });
        const arn = job.createdBy!;
        if (orchestrator === 'sf') {
          await sfn.send(
            new StopExecutionCommand({ executionArn: arn, error: 'Operator', cause: 'stopped by hand' }),
          );
        } else {
          await lambda.send(
            new StopDurableExecutionCommand({
              DurableExecutionArn: arn,
              Error: { ErrorType: 'Operator', ErrorMessage: 'stopped by hand' },
            }),
          );
        }
        // Two reconciler runs race the status-change event (Step Functions) or each other (durable):
        // each sees the execution ended; one write records the job.
        const run = () =>
          lambda.send(
            new InvokeCommand({
              FunctionName: FUNCTIONS.reconciler,
              Payload: JSON.stringify({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }),
            }),
          );
        const runs = await Promise.all([run(), run()]);
        for (const r of runs)
          expect(r.FunctionError, Buffer.from(r.Payload ?? []).toString()).toBeUndefined();
      } finally {
        hold();
      }
      const status = orchestrator === 'sf' ? 'ABORTED' : 'STOPPED';
      await checkEnded(
        'u-stop',
        'stopped',
        new RegExp(`^Operator: .* ended ${status} \\(stopped by hand\\)`),
        before,
      );
    }, 240_000);

    it('timed out by its execution limit while it waits for the endpoint: FAILED with the timeout, once', async () => {
      const before = creates();
      await world.upload('u-timeout', 'timedout');
      const reason =
        orchestrator === 'sf'
          ? /^ExecutionEndedError: the Step Functions execution .* ended TIMED_OUT before its job was recorded$/
          : /^Execution\.TimedOut: the durable execution .* ended TIMED_OUT/;
      await checkEnded('u-timeout', 'timedout', reason, before);
      const job = (await world.job('u-timeout', 'timedout'))!;
      // It held its lease until the limit: the day passed in simulated time.
      expect(Date.parse(job.updatedAt) - Date.parse(job.createdAt)).toBeGreaterThanOrEqual(
        EXECUTION_TIMEOUT_SECONDS * 1000,
      );
    }, 240_000);

    // Step Functions' counterpart, a task failing for good, is caught by the ASL and recorded by the
    // workflow itself; a durable execution whose invocations keep dying is ended by Lambda.
    it.runIf(orchestrator === 'ldf')(
      'dying without progress until Lambda fails the execution: FAILED with its error, once',
      async () => {
        const before = creates();
        // Four invocations in a row die in the start step (after its CreateEndpoint), with nothing
        // completed in between: Lambda's limit, so the fourth fails the execution.
        world.cloud.lambdaService.injectCrash({
          functionName: FUNCTIONS.durable,
          stepName: OP.start,
          times: 4,
        });
        await world.upload('u-crash', 'crashing');
        await checkEnded(
          'u-crash',
          'crashing',
          /^Runtime\.\w+: the durable execution .* ended FAILED/,
          before,
        );
      },
      240_000,
    );
  });
}

platformEndings('sf');
platformEndings('ldf');
