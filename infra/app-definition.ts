// What the system deploys, declared once as plain data (no CDK import): each function with its entry
// module, environment and alias; the state machine's ASL file and substitutions; the SageMaker model
// and endpoint config; the rules and their targets. The CDK stack builds AWS resources from it and the
// local cloud's deployer (local/deploy-app.ts) runs the very same on the local stand-ins, so neither
// hard-codes a handler path, a target or an environment variable the other lacks.
import type { ProductionVariantInstanceType } from '@aws-sdk/client-sagemaker';
import {
  CONFIG_DEFAULTS,
  configToEnv,
  endpointNameFor,
  type Config,
  type WaitMode,
} from '../shared/config.ts';
import type { DashboardNames } from '../dashboards/comparison.ts';
import { EXECUTION_TIMEOUT_SECONDS } from '../shared/job-model.ts';
import {
  endpointStateRule,
  executionEndedRule,
  forStateMachine,
  maskUploadRule,
  reconcileScheduleRule,
  uploadRule,
  type RuleDefinition,
} from '../shared/event-rules.ts';

/** What differs between deployments: names, the wait mode, durations. */
export interface AppSettings {
  region: string;
  tableName: string;
  bucket: string;
  eventBusName: string;
  /** Base endpoint name; the orchestrators use `{name}-sf` and `{name}-ldf`. */
  endpointName: string;
  waitMode: WaitMode;
  /** The endpoint config's instance type (a GPU instance on AWS); default ml.g5.xlarge. */
  instanceType?: ProductionVariantInstanceType;
  /**
   * The endpoint config's name; default ENDPOINT_CONFIG_NAME. The CDK stack lets CloudFormation name
   * it (a fixed name would block its replacement when the image or the instance type changes).
   */
  endpointConfigName?: string;
  /** Seconds; see shared/config.ts for each and its default (CONFIG_DEFAULTS). */
  idleWindowSeconds?: number;
  maskWaitSeconds?: number;
  endpointWaitSeconds?: number;
  pollSeconds?: number;
  pollMaxSeconds?: number;
  eventFallbackSeconds?: number;
  leaseTtlSeconds?: number;
  /** The local S3 needs path-style addresses; AWS does not. */
  s3ForcePathStyle?: boolean;
  /**
   * Minutes between the reconciler's runs (jobs whose execution the platform ended, endpoints left
   * idle); default RECONCILE_INTERVAL_MINUTES.
   */
  reconcileIntervalMinutes?: number;
}

export interface FunctionDefinition {
  /** The function's name (locally) and logical id (CDK). */
  name: string;
  /** Module path from the repository root, and its exported handler. */
  entry: string;
  exportName: string;
  /** Durable functions run behind an alias: Lambda invokes them only by a qualified ARN. */
  durable?: { executionTimeoutSeconds: number; retentionPeriodDays: number };
  alias?: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
}

export interface StateMachineDefinition {
  name: string;
  /** The ASL file (JSONPath) from the repository root. */
  definitionFile: string;
  /** `${Name}` in the ASL → a function's ARN, or a plain value. */
  substitutions: Record<string, { functionArn: string } | { value: string }>;
}

export type TargetDefinition =
  { id: string; function: string; qualifier?: string } | { id: string; stateMachine: string };

export interface AppDefinition {
  settings: AppSettings;
  /** `image` is the local image name; the CDK stack uses the image asset built from container/. */
  endpoint: {
    modelName: string;
    endpointConfigName: string;
    variantName: string;
    instanceType: ProductionVariantInstanceType;
    image: string;
  };
  functions: FunctionDefinition[];
  stateMachines: StateMachineDefinition[];
  rules: AppRule[];
}

export interface AppRule {
  rule: RuleDefinition;
  targets: TargetDefinition[];
  /** Only this state machine's events (its ARN is known once deployed): see deployedRule. */
  ofStateMachine?: string;
}

/** The rule as a deployer puts it, given the ARNs of the state machines it deployed. */
export function deployedRule(entry: AppRule, stateMachineArn: (name: string) => string): RuleDefinition {
  return entry.ofStateMachine === undefined
    ? entry.rule
    : forStateMachine(entry.rule, stateMachineArn(entry.ofStateMachine));
}

export const FUNCTIONS = {
  durable: 'durable-orchestrator',
  sfnTasks: 'sfn-tasks',
  waker: 'waker',
  reconciler: 'job-reconciler',
} as const;
export const STATE_MACHINE = 'sfn-orchestrator';
export const ORCHESTRATOR_ALIAS = 'live';
export const ENDPOINT_CONFIG_NAME = CONFIG_DEFAULTS.endpointConfigName;
/**
 * The reconciler's default period: an ended execution's job is recorded within it when no event
 * does it sooner (durable executions send none), and an endpoint left idle stops within it past its
 * window. 5 minutes cost about 8,900 small invocations a month.
 */
export const RECONCILE_INTERVAL_MINUTES = 5;

/** The SageMaker model and endpoint config every endpoint start uses. */
export const ENDPOINT_DEFINITION: AppDefinition['endpoint'] = {
  modelName: 'reconstruct-3d',
  endpointConfigName: ENDPOINT_CONFIG_NAME,
  variantName: 'AllTraffic',
  instanceType: 'ml.g5.xlarge',
  image: 'reconstruct-3d',
};

export function appDefinition(settings: AppSettings): AppDefinition {
  // Settings left out take the handlers' own defaults (shared/config.ts), never a second copy of them.
  const given = {
    idleWindowSeconds: settings.idleWindowSeconds,
    leaseTtlSeconds: settings.leaseTtlSeconds,
    maskWaitSeconds: settings.maskWaitSeconds,
    endpointWaitSeconds: settings.endpointWaitSeconds,
    pollSeconds: settings.pollSeconds,
    pollMaxSeconds: settings.pollMaxSeconds,
    eventFallbackSeconds: settings.eventFallbackSeconds,
    s3ForcePathStyle: settings.s3ForcePathStyle,
  };
  const config: Omit<Config, 'orchestrator'> = {
    ...CONFIG_DEFAULTS,
    ...definedOnly(given),
    region: settings.region,
    tableName: settings.tableName,
    bucket: settings.bucket,
    endpointName: settings.endpointName,
    endpointConfigName: settings.endpointConfigName ?? ENDPOINT_CONFIG_NAME,
    waitMode: settings.waitMode,
    eventBusName: settings.eventBusName,
  };
  const env = (orchestrator?: 'sf' | 'ldf'): Record<string, string> =>
    configToEnv({ ...config, ...(orchestrator ? { orchestrator } : {}) });
  return {
    settings,
    endpoint: {
      ...ENDPOINT_DEFINITION,
      endpointConfigName: config.endpointConfigName,
      instanceType: settings.instanceType ?? ENDPOINT_DEFINITION.instanceType,
    },
    functions: [
      {
        name: FUNCTIONS.durable,
        entry: 'orchestrators/durable/handler.ts',
        exportName: 'handler',
        // A job's longest legitimate life: mask wait, endpoint wait, idle window, stop; a day bounds it.
        durable: { executionTimeoutSeconds: EXECUTION_TIMEOUT_SECONDS, retentionPeriodDays: 7 },
        alias: ORCHESTRATOR_ALIAS,
        timeoutSeconds: 120,
        memoryMb: 512,
        environment: env('ldf'),
      },
      {
        name: FUNCTIONS.sfnTasks,
        entry: 'orchestrators/stepfunctions/handler.ts',
        exportName: 'handler',
        timeoutSeconds: 120,
        memoryMb: 512,
        environment: env('sf'),
      },
      {
        name: FUNCTIONS.waker,
        entry: 'orchestrators/waker/handler.ts',
        exportName: 'handler',
        timeoutSeconds: 60,
        memoryMb: 256,
        environment: env(),
      },
      {
        name: FUNCTIONS.reconciler,
        entry: 'orchestrators/reconciler/handler.ts',
        exportName: 'handler',
        timeoutSeconds: 120,
        memoryMb: 256,
        environment: env(),
      },
    ],
    stateMachines: [
      {
        name: STATE_MACHINE,
        definitionFile: 'orchestrators/stepfunctions/state-machine.asl.json',
        substitutions: {
          TasksFunctionArn: { functionArn: FUNCTIONS.sfnTasks },
          EventBusName: { value: settings.eventBusName },
        },
      },
    ],
    rules: [
      {
        // One upload starts both orchestrators.
        rule: uploadRule(settings.bucket),
        targets: [
          { id: 'durable-orchestrator', function: FUNCTIONS.durable, qualifier: ORCHESTRATOR_ALIAS },
          { id: 'sfn-orchestrator', stateMachine: STATE_MACHINE },
        ],
      },
      { rule: maskUploadRule(settings.bucket), targets: [{ id: 'waker', function: FUNCTIONS.waker }] },
      {
        rule: endpointStateRule(`${settings.endpointName}-`),
        targets: [{ id: 'waker', function: FUNCTIONS.waker }],
      },
      {
        // A Step Functions execution that ended without recording its job (stopped, timed out, failed
        // outside any Catch) is recorded at once; one that recorded it finds it ended.
        rule: executionEndedRule(),
        ofStateMachine: STATE_MACHINE,
        targets: [{ id: 'job-reconciler', function: FUNCTIONS.reconciler }],
      },
      {
        // Durable executions send no status event: the schedule finds what every ending left behind.
        rule: reconcileScheduleRule(settings.reconcileIntervalMinutes ?? RECONCILE_INTERVAL_MINUTES),
        targets: [{ id: 'job-reconciler', function: FUNCTIONS.reconciler }],
      },
    ],
  };
}

/**
 * What the comparison dashboard charts for one deployment of the app: the stack passes its resources'
 * names (CloudFormation tokens), the local deployer the names it deployed; one body either way.
 */
export function dashboardNames(
  app: AppDefinition,
  deployed: { region: string; stateMachineArn: string; functionName: (name: string) => string },
): DashboardNames {
  const ref = (name: string) => ({
    name: deployed.functionName(name),
    memoryMb: app.functions.find((f) => f.name === name)!.memoryMb,
  });
  return {
    region: deployed.region,
    stateMachineArn: deployed.stateMachineArn,
    functions: {
      durable: ref(FUNCTIONS.durable),
      sfnTasks: ref(FUNCTIONS.sfnTasks),
      waker: ref(FUNCTIONS.waker),
    },
    endpoints: { sf: endpointNameFor(app.settings, 'sf'), ldf: endpointNameFor(app.settings, 'ldf') },
    variantName: app.endpoint.variantName,
    instanceType: app.endpoint.instanceType,
  };
}

/** The fields that are set: a left-out setting must not override its default with undefined. */
function definedOnly<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
