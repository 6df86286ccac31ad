// One orchestrator under test on a running local cloud with the app deployed from its one definition:
// uploads with the real S3 client, jobs read from the table, executions listed through the services'
// own APIs (ListDurableExecutionsByFunction, ListExecutions), the notifications the bus delivered, and
// the invariants every scenario must keep. The scenario contract (test/scenarios/contract.ts) drives it.
import { ListDurableExecutionsByFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { localTarget } from '../../bench/collect/local-target.ts';
import type { Target } from '../../bench/collect/target.ts';
import { generateSample, samplePngs } from '../../container/src/samples.ts';
import { FUNCTIONS, STATE_MACHINE, appDefinition } from '../../infra/app-definition.ts';
import { DEFAULT_CLOCK, startLocalCloud, type LocalCloud } from '../../local/cloud.ts';
import { deployApp, localAppSettings, type DeployedApp } from '../../local/deploy-app.ts';
import type { BusEvent } from '../../local/eventbridge/event-bus.ts';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import type { Timings } from '../../local/sagemaker/control-plane.ts';
import { createActivities, type Activities } from '../../shared/activities.ts';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import { parseConfig, type WaitMode } from '../../shared/config.ts';
import { createDeps, jobStoreOf, type Deps } from '../../shared/deps.ts';
import { EndpointStore, type EndpointItem } from '../../shared/endpoint-lifecycle/endpoint-store.ts';
import { isEnding } from '../../shared/job-model.ts';
import { OP } from '../../orchestrators/durable/workflow.ts';
import type { Job } from '../../shared/job-store.ts';
import { inputImageKey, inputMaskKey, type Orchestrator } from '../../shared/keys.ts';
import { checkSfnHistory } from '../../metering/sfn-history-check.ts';

/** The scenarios' clock: the product's default (skip), or the one SCENARIO_CLOCK names (`scale:60`). */
// eslint-disable-next-line no-restricted-properties -- a test knob, not an app setting
export const SCENARIO_CLOCK = process.env.SCENARIO_CLOCK ?? DEFAULT_CLOCK;

/** Simulated seconds: short enough for tests, long enough for a loaded 2-core machine. */
export const SCENARIO_SETTINGS = {
  idleWindowSeconds: 60, // 1 s real on scale:60, a jump on skip
  maskWaitSeconds: 120, // 2 s real on scale:60
  endpointWaitSeconds: 900,
  pollSeconds: 3,
  pollMaxSeconds: 12,
  // Short, so the scenarios that lose a wake-up or take a start over find it in a fraction of a second.
  eventFallbackSeconds: 12,
} as const;

export interface ExecutionSummary {
  arn: string;
  status: string;
}

export interface World {
  cloud: LocalCloud;
  app: DeployedApp;
  /** The local cloud as a Target: what `dvs check` and the collectors read (bench/collect/target.ts). */
  target: Target;
  orchestrator: Orchestrator;
  waitMode: WaitMode;
  endpointName: string;
  /** Activities of this orchestrator, for arranging a scenario (a holder lease keeps the endpoint warm). */
  activities: Activities;
  deps: Deps;
  /** Job events (`Job Completed` / `Job Failed`) the bus delivered. */
  notifications: BusEvent[];
  /** Image uploads the upload rule routed (to re-deliver one as a duplicate). */
  uploadEvents: BusEvent[];
  /** Mask uploads the mask rule routed (to the waker), in order. */
  maskEvents: BusEvent[];
  /**
   * Uploads the image and its mask (or one of them) under `name`; `variant` picks the content (a
   * sample image seed), so two uploads of one name can differ, as a user's new version does.
   */
  upload(user: string, name: string, parts?: 'both' | 'image' | 'mask', variant?: number): Promise<void>;
  /** Uploads one image under any key (a bad one, to be rejected). */
  uploadKey(key: string): Promise<void>;
  job(user: string, name: string): Promise<Job | undefined>;
  /** Every job of the name (one per upload of it: a new version is a new job), oldest first. */
  jobs(user: string, name: string): Promise<Job[]>;
  waitForEnding(user: string, name: string, timeoutMs?: number): Promise<Job>;
  executions(): Promise<ExecutionSummary[]>;
  /**
   * Checks one finished execution against its recorded history: the durable one is replayed from
   * its recorded operations (LocalLambda.replay), the Step Functions one's GetExecutionHistory is
   * checked against the ASL (checkSfnHistory). Returns what was found wrong; empty when consistent.
   */
  checkHistory(arn: string): Promise<string[]>;
  /** Waits until every execution has ended (the idle stop included). */
  quiesce(timeoutMs?: number): Promise<void>;
  endpointItem(): Promise<EndpointItem>;
  /** The endpoint's status as DescribeEndpoint gives it, or 'missing' when SageMaker has none. */
  sageMakerStatus(): Promise<string>;
  object(key: string): Promise<string | undefined>;
  /** The functions' recent console output (their logs), shown when a scenario fails. */
  functionLogs: string[];
  /**
   * The steps every cold job runs, by this orchestrator's own names (durable operation names; the
   * task Lambda's task names): where the crash scenario kills an invocation.
   */
  coreSteps: readonly string[];
  /**
   * Kills the invocation in the middle of the named step, once: after the step's work, before its
   * result is checkpointed (durable) or returned to Step Functions (the task Lambda dies).
   */
  injectCrash(step: string): void;
  stop(): Promise<void>;
}

/** What a world may change: the benchmarks run the app's own defaults instead of the scenarios' short ones. */
export interface WorldOptions {
  /** The app's simulated durations (left out: the app definition's defaults); default SCENARIO_SETTINGS. */
  settings?: Partial<
    Record<keyof typeof SCENARIO_SETTINGS | 'leaseTtlSeconds' | 'reconcileIntervalMinutes', number>
  >;
  /** The local cloud's clock (`skip`, `real`, `scale:N`); default SCENARIO_CLOCK. */
  clock?: string;
  /** Simulated SageMaker durations (left out: the emulator's defaults, a 300 s start). */
  sagemakerTimings?: Partial<Timings>;
  /** The model server's URL, for scenarios that never infer (default: the project's inference server). */
  container?: string;
}

export async function startWorld(
  orchestrator: Orchestrator,
  waitMode: WaitMode,
  options: WorldOptions = {},
): Promise<World> {
  const endpointBase = `scn-${orchestrator}-${waitMode}`;
  const durations = options.settings ?? SCENARIO_SETTINGS;
  const functionLogs: string[] = [];
  const cloud = await startLocalCloud({
    functionOutput: (fn, text) => {
      for (const line of text.split('\n')) if (line) functionLogs.push(`${fn}: ${line}`);
      functionLogs.splice(0, Math.max(0, functionLogs.length - 300));
    },
    clock: options.clock ?? SCENARIO_CLOCK,
    // A 2-minute simulated start: 2 s real, room for the container process to come up.
    sagemakerTimings: options.sagemakerTimings ?? { createSeconds: 120, deleteSeconds: 30 },
    ...(options.container ? { container: options.container } : {}),
  });
  try {
    const definition = appDefinition(
      localAppSettings(cloud, {
        endpointName: endpointBase,
        waitMode,
        ...durations,
      }),
    );
    const target = orchestrator === 'ldf' ? 'durable-orchestrator' : 'sfn-orchestrator';
    const app = await deployApp(cloud, definition, {
      // Only the orchestrator under test answers uploads, so faults armed for it hit its endpoint.
      targets: (t) => t.id === target || t.id === 'waker' || t.id === 'job-reconciler',
    });
    const notifications: BusEvent[] = [];
    cloud.bus.putRule({ name: 'scenario-notifications', eventPattern: { source: ['durable-vs-sfn'] } });
    cloud.bus.addTarget('scenario-notifications', 'recorder', (e) => void notifications.push(e));
    const uploadEvents: BusEvent[] = [];
    cloud.bus.addTarget('image-uploaded', 'recorder', (e) => void uploadEvents.push(e));
    const maskEvents: BusEvent[] = [];
    cloud.bus.addTarget('mask-uploaded', 'recorder', (e) => void maskEvents.push(e));

    const config = parseConfig({ ...configToEnvOf(definition, orchestrator), S3_FORCE_PATH_STYLE: 'true' });
    const deps = createDeps(config, {
      now: () => cloud.time.now(),
      credentials: LOCAL_CREDENTIALS,
      endpoints: cloud.serviceEndpoints(),
    });
    const activities = createActivities(deps, orchestrator);
    const jobs = jobStoreOf(deps);
    const s3 = new S3Client(cloud.clientConfig('s3'));
    const lambda = new LambdaClient(cloud.clientConfig('lambda'));
    const sfn = new SFNClient(cloud.clientConfig('stepfunctions'));
    const endpointName = `${endpointBase}-${orchestrator}`;

    const executions = async (): Promise<ExecutionSummary[]> => {
      if (orchestrator === 'ldf') {
        const out: ExecutionSummary[] = [];
        let marker: string | undefined;
        do {
          const page = await lambda.send(
            new ListDurableExecutionsByFunctionCommand({ FunctionName: FUNCTIONS.durable, Marker: marker }),
          );
          for (const e of page.DurableExecutions ?? [])
            out.push({ arn: e.DurableExecutionArn!, status: e.Status! });
          marker = page.NextMarker;
        } while (marker);
        return out;
      }
      const out: ExecutionSummary[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new ListExecutionsCommand({ stateMachineArn: app.stateMachines[STATE_MACHINE], nextToken }),
        );
        for (const e of page.executions ?? []) out.push({ arn: e.executionArn!, status: e.status! });
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    };

    let asl: string | undefined;
    const checkHistory = async (arn: string): Promise<string[]> => {
      if (orchestrator === 'ldf') {
        // Warm sandboxes that run replays only: a cold start per replay would cost about a second each.
        const report = await cloud.lambdaService.replay(arn, { sandbox: 'replay-pool' });
        return report.findings.map((f) => `${f.kind}: ${f.message}`);
      }
      asl ??= (
        await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: app.stateMachines[STATE_MACHINE] }))
      ).definition!;
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000, nextToken }),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return checkSfnHistory(asl, events).findings;
    };

    const job = async (user: string, name: string): Promise<Job | undefined> => {
      const page = await jobs.listByUser(orchestrator, user);
      return page.jobs.find((j) => j.name === name || j.imageKey === name);
    };

    return {
      cloud,
      app,
      target: localTarget(cloud, app, endpointBase),
      orchestrator,
      waitMode,
      endpointName,
      activities,
      deps,
      notifications,
      uploadEvents,
      maskEvents,
      functionLogs,
      async upload(user, name, parts = 'both', variant = 1) {
        const pngs = samplePngs(generateSample('blob', 64, 64, variant));
        const put = (key: string, body: Uint8Array): Promise<unknown> =>
          s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: body }));
        // The test's own work in flight: a skip clock must not jump between the image and its mask.
        await cloud.time.track(
          (async () => {
            if (parts !== 'mask') await put(inputImageKey(user, name), pngs.image);
            if (parts !== 'image') await put(inputMaskKey(user, name), pngs.mask);
          })(),
        );
      },
      async uploadKey(key) {
        const pngs = samplePngs(generateSample('blob', 64));
        await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: pngs.image }));
      },
      job,
      async jobs(user, name) {
        const page = await jobs.listByUser(orchestrator, user);
        return page.jobs
          .filter((j) => j.name === name || j.imageKey === name)
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      },
      async waitForEnding(user, name, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = await job(user, name);
          if (found && isEnding(found.status)) return found;
          if (Date.now() > deadline) {
            throw new Error(
              `job ${user}/${name} did not end within ${timeoutMs} ms (${found?.status ?? 'not admitted'})`,
            );
          }
          await pause(50);
        }
      },
      executions,
      checkHistory,
      async quiesce(timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          await cloud.bus.idle();
          const running = (await executions()).filter((e) => e.status === 'RUNNING');
          if (running.length === 0) return;
          if (Date.now() > deadline) {
            throw new Error(
              `${running.length} execution(s) still running after ${timeoutMs} ms: ${running.map((r) => r.arn).join(', ')}`,
            );
          }
          await pause(50);
        }
      },
      endpointItem: () => new EndpointStore(deps.doc, deps.tableName, orchestrator).get(endpointName),
      async sageMakerStatus() {
        try {
          const out = await deps.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
          return out.EndpointStatus ?? '?';
        } catch (err) {
          if ((err as Error).name === 'ValidationException') return 'missing';
          throw err;
        }
      },
      async object(key) {
        try {
          const out = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: key }));
          return await out.Body!.transformToString();
        } catch {
          return undefined;
        }
      },
      coreSteps:
        orchestrator === 'ldf'
          ? [OP.admit, OP.acquire, OP.start, OP.invoke, OP.record, OP.release, OP.notify]
          : [
              'admit',
              'acquireEndpoint',
              'startEndpoint',
              'invoke',
              'recordOutcome',
              'releaseLease',
              'notify',
            ],
      injectCrash(step) {
        cloud.lambdaService.injectCrash(
          orchestrator === 'ldf'
            ? { functionName: FUNCTIONS.durable, stepName: step }
            : {
                functionName: FUNCTIONS.sfnTasks,
                when: (event) => (event as { task?: unknown } | null)?.task === step,
              },
        );
      },
      async stop() {
        s3.destroy();
        lambda.destroy();
        sfn.destroy();
        app.undeploy();
        await cloud.stop();
      },
    };
  } catch (err) {
    await cloud.stop();
    throw err;
  }
}

function configToEnvOf(
  definition: ReturnType<typeof appDefinition>,
  orchestrator: Orchestrator,
): Record<string, string> {
  const fn = definition.functions.find(
    (f) => f.name === (orchestrator === 'ldf' ? FUNCTIONS.durable : FUNCTIONS.sfnTasks),
  );
  if (!fn) throw new Error(`no function for ${orchestrator} in the app definition`);
  return { ...fn.environment };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
