// One orchestrator under test on a running local cloud with the app deployed from its one definition:
// uploads with the real S3 client, jobs read from the table, executions listed through the services'
// own APIs (ListDurableExecutionsByFunction, ListExecutions), the notifications the bus delivered, and
// the invariants every scenario must keep. The scenario contract (test/scenarios/contract.ts) drives it.
import { ListDurableExecutionsByFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { generateSample, samplePngs } from '../../container/src/samples.ts';
import { FUNCTIONS, STATE_MACHINE, appDefinition, type AppSettings } from '../../infra/app-definition.ts';
import { startLocalCloud, type LocalCloud } from '../../local/cloud.ts';
import { deployApp, type DeployedApp } from '../../local/deploy-app.ts';
import type { BusEvent } from '../../local/event-bus.ts';
import type { Timings } from '../../local/sagemaker/control-plane.ts';
import { createActivities, jobStoreOf, type Activities } from '../../shared/activities.ts';
import { LOCAL_CREDENTIALS } from '../../shared/aws.ts';
import { parseConfig, type WaitMode } from '../../shared/config.ts';
import { createDeps, type Deps } from '../../shared/deps.ts';
import { EndpointStore, type EndpointItem } from '../../shared/endpoint-lifecycle/endpoint-store.ts';
import { isEnding } from '../../shared/job-model.ts';
import type { Job } from '../../shared/job-store.ts';
import { inputImageKey, inputMaskKey, type Orchestrator } from '../../shared/keys.ts';

/** Simulated seconds at TIME_SCALE: short enough for tests, long enough for a loaded 2-core machine. */
export const SCENARIO_SETTINGS = {
  timeScale: 60,
  idleWindowSeconds: 60, // 1 s real
  maskWaitSeconds: 120, // 2 s real
  endpointWaitSeconds: 900,
  pollSeconds: 3,
  pollMaxSeconds: 12,
} as const;

export interface ExecutionSummary {
  arn: string;
  status: string;
}

export interface World {
  cloud: LocalCloud;
  app: DeployedApp;
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
  upload(user: string, name: string, parts?: 'both' | 'image' | 'mask'): Promise<void>;
  /** Uploads one image under any key (a bad one, to be rejected). */
  uploadKey(key: string): Promise<void>;
  job(user: string, name: string): Promise<Job | undefined>;
  waitForEnding(user: string, name: string, timeoutMs?: number): Promise<Job>;
  executions(): Promise<ExecutionSummary[]>;
  /** Waits until every execution has ended (the idle stop included). */
  quiesce(timeoutMs?: number): Promise<void>;
  endpointItem(): Promise<EndpointItem>;
  object(key: string): Promise<string | undefined>;
  /** Arms a crash in the middle of the named step (durable step or Step Functions task). */
  injectCrash(step: string): void;
  stop(): Promise<void>;
}

/** What a world may change: the benchmarks run the app's own defaults instead of the scenarios' short ones. */
export interface WorldOptions {
  /** The app's simulated durations (left out: the app definition's defaults); default SCENARIO_SETTINGS. */
  settings?: Partial<Record<keyof typeof SCENARIO_SETTINGS, number>>;
  /** Simulated SageMaker durations (left out: the emulator's defaults, a 300 s start). */
  sagemakerTimings?: Partial<Timings>;
}

export async function startWorld(
  orchestrator: Orchestrator,
  waitMode: WaitMode,
  options: WorldOptions = {},
): Promise<World> {
  const endpointBase = `scn-${orchestrator}-${waitMode}`;
  const durations = options.settings ?? SCENARIO_SETTINGS;
  const cloud = await startLocalCloud({
    ...(durations.timeScale === undefined ? {} : { timeScale: durations.timeScale }),
    endpointNamePrefix: endpointBase,
    // A 2-minute simulated start: 2 s real, room for the container process to come up.
    sagemakerTimings: options.sagemakerTimings ?? { createSeconds: 120, deleteSeconds: 30 },
  });
  try {
    const settings: AppSettings = {
      region: cloud.region,
      tableName: cloud.tableName,
      bucket: cloud.bucket,
      eventBusName: cloud.eventBusName,
      endpointName: endpointBase,
      waitMode,
      s3ForcePathStyle: true,
      ...durations,
      timeScale: cloud.timeScale,
    };
    const definition = appDefinition(settings);
    const target = orchestrator === 'ldf' ? 'durable-orchestrator' : 'sfn-orchestrator';
    const app = await deployApp(cloud, definition, {
      // Only the orchestrator under test answers uploads, so faults armed for it hit its endpoint.
      targets: (t) => t.id === target || t.id === 'waker',
    });
    const notifications: BusEvent[] = [];
    cloud.bus.putRule({ name: 'scenario-notifications', eventPattern: { source: ['durable-vs-sfn'] } });
    cloud.bus.addTarget('scenario-notifications', 'recorder', (e) => void notifications.push(e));
    const uploadEvents: BusEvent[] = [];
    cloud.bus.addTarget('image-uploaded', 'recorder', (e) => void uploadEvents.push(e));

    const config = parseConfig({ ...configToEnvOf(definition, orchestrator), S3_FORCE_PATH_STYLE: 'true' });
    const deps = createDeps(config, {
      credentials: LOCAL_CREDENTIALS,
      endpoints: {
        dynamodb: cloud.dynamodb,
        s3: cloud.s3,
        sagemaker: cloud.sagemaker,
        sagemakerRuntime: cloud.sagemakerRuntime,
        eventbridge: cloud.eventbridge,
        lambda: cloud.lambda,
        sfn: cloud.stepfunctions,
      },
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

    const job = async (user: string, name: string): Promise<Job | undefined> => {
      const page = await jobs.listByUser(orchestrator, user);
      return page.jobs.find((j) => j.name === name || j.imageKey === name);
    };

    return {
      cloud,
      app,
      orchestrator,
      waitMode,
      endpointName,
      activities,
      deps,
      notifications,
      uploadEvents,
      async upload(user, name, parts = 'both') {
        const pngs = samplePngs(generateSample('blob', 64));
        if (parts !== 'mask') {
          await s3.send(
            new PutObjectCommand({ Bucket: cloud.bucket, Key: inputImageKey(user, name), Body: pngs.image }),
          );
        }
        if (parts !== 'image') {
          await s3.send(
            new PutObjectCommand({ Bucket: cloud.bucket, Key: inputMaskKey(user, name), Body: pngs.mask }),
          );
        }
      },
      async uploadKey(key) {
        const pngs = samplePngs(generateSample('blob', 64));
        await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: pngs.image }));
      },
      job,
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
      async object(key) {
        try {
          const out = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: key }));
          return await out.Body!.transformToString();
        } catch {
          return undefined;
        }
      },
      injectCrash(step) {
        cloud.lambdaService.injectCrash(
          orchestrator === 'ldf'
            ? { functionName: FUNCTIONS.durable, stepName: step }
            : { functionName: FUNCTIONS.sfnTasks, stepName: step },
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
