// The local cloud's deployer: runs the one app definition (infra/app-definition.ts) on the local
// stand-ins, as the CDK stack does on AWS: the SageMaker model and endpoint config, every function in
// the local Lambda (durable ones behind their alias), the state machine from its ASL file with the
// definition substitutions (through the real SFN API), the rules with their targets on the bus, and
// the comparison dashboard with the body the stack deploys, for the names deployed here.
import { readFileSync } from 'node:fs';
import { CloudWatchClient, PutDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEndpointConfigCommand, CreateModelCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { comparisonDashboardJson } from '../dashboards/comparison.ts';
import {
  dashboardNames,
  deployedRule,
  STATE_MACHINE,
  type AppDefinition,
  type AppSettings,
  type TargetDefinition,
} from '../infra/app-definition.ts';
import { renderDefinition } from '../orchestrators/stepfunctions/definition.ts';
import type { LocalCloud } from './cloud.ts';
import { LOCAL_ACCOUNT_ID } from './common/account.ts';
import type { LocalEventBus } from './eventbridge/event-bus.ts';
import { stateMachineTarget } from './stepfunctions/bus-target.ts';

/** The base endpoint name `npm run up` deploys with (`reconstruct-3d-sf`, `reconstruct-3d-ldf`). */
export const DEFAULT_ENDPOINT_NAME = 'reconstruct-3d';
/** The comparison dashboard's name in the local CloudWatch (`aws cloudwatch get-dashboard --dashboard-name`). */
export const DASHBOARD_NAME = 'durable-vs-stepfunctions';

export interface DeployedApp {
  /** Function name → the ARN a target invokes (the alias ARN for durable functions). */
  functions: Record<string, string>;
  stateMachines: Record<string, string>;
  /** The comparison dashboard's name (DASHBOARD_NAME) and the body put there. */
  dashboard: { name: string; body: string };
  /** Removes the rules' targets and closes the clients (the functions and machines stay). */
  undeploy(): void;
}

export interface DeployOptions {
  /** Only these targets of the rules (by target id); default all. The scenario tests run one orchestrator. */
  targets?: (target: TargetDefinition) => boolean;
  log?: (line: string) => void;
}

export async function deployApp(
  cloud: LocalCloud,
  app: AppDefinition,
  options: DeployOptions = {},
): Promise<DeployedApp> {
  const log = options.log ?? (() => undefined);
  const sagemaker = new SageMakerClient(cloud.clientConfig('sagemaker'));
  const sfn = new SFNClient(cloud.clientConfig('stepfunctions'));
  const cloudWatch = new CloudWatchClient(cloud.clientConfig('cloudwatch'));
  const cleanups: (() => void)[] = [
    () => sagemaker.destroy(),
    () => sfn.destroy(),
    () => cloudWatch.destroy(),
  ];
  try {
    await createModelAndEndpointConfig(sagemaker, app.endpoint);

    const functions: Record<string, string> = {};
    const plainArns: Record<string, string> = {};
    for (const fn of app.functions) {
      const deployed = await cloud.lambdaService.deploy({
        name: fn.name,
        entry: fn.entry,
        exportName: fn.exportName,
        environment: fn.environment,
        ...(fn.durable ? { durable: fn.durable } : {}),
        ...(fn.alias ? { alias: fn.alias } : {}),
        timeoutSeconds: fn.timeoutSeconds,
        memorySize: fn.memoryMb,
      });
      functions[fn.name] = deployed.qualifiedArn;
      plainArns[fn.name] = deployed.functionArn;
    }

    const stateMachines: Record<string, string> = {};
    for (const machine of app.stateMachines) {
      const definition = substitute(
        readFileSync(machine.definitionFile, 'utf8'),
        machine.substitutions,
        plainArns,
      );
      const out = await sfn.send(
        new CreateStateMachineCommand({
          name: machine.name,
          definition,
          roleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${machine.name}`,
        }),
      );
      stateMachines[machine.name] = out.stateMachineArn!;
      log(`state machine   ${machine.name}  ${machine.definitionFile}`);
    }

    const stateMachineArn = stateMachines[STATE_MACHINE];
    if (!stateMachineArn)
      throw new Error(
        `the app definition has no state machine '${STATE_MACHINE}' for the dashboard to chart`,
      );
    const dashboard = {
      name: DASHBOARD_NAME,
      body: comparisonDashboardJson(
        dashboardNames(app, {
          region: cloud.region,
          stateMachineArn,
          functionName: (name) => name,
        }),
      ),
    };
    await cloudWatch.send(
      new PutDashboardCommand({ DashboardName: dashboard.name, DashboardBody: dashboard.body }),
    );
    log(`dashboard       ${dashboard.name}`);

    putAppRules(cloud.bus, app, (name) => {
      const arn = stateMachines[name];
      if (!arn) throw new Error(`a rule names state machine '${name}', which the app definition lacks`);
      return arn;
    });
    for (const { rule, targets } of app.rules) {
      for (const target of targets.filter(options.targets ?? (() => true))) {
        if ('function' in target) {
          const arn = functions[target.function];
          if (!arn)
            throw new Error(`rule ${rule.name}: no function '${target.function}' in the app definition`);
          cleanups.push(cloud.bus.addTarget(rule.name, target.id, cloud.lambdaService.busTarget(arn)));
        } else {
          const arn = stateMachines[target.stateMachine];
          if (!arn)
            throw new Error(
              `rule ${rule.name}: no state machine '${target.stateMachine}' in the app definition`,
            );
          const sm = stateMachineTarget(arn, cloud.clientConfig('stepfunctions'));
          cleanups.push(cloud.bus.addTarget(rule.name, target.id, sm.handler), () => sm.destroy());
        }
        log(`rule            ${rule.name} → ${target.id}`);
      }
    }
    return {
      functions,
      stateMachines,
      dashboard,
      undeploy: () => cleanups.splice(0).forEach((c) => c()),
    };
  } catch (err) {
    cleanups.forEach((c) => c());
    throw err;
  }
}

/**
 * Puts every rule of the app definition (shared/event-rules.ts patterns) on the bus, the one place the
 * local cloud gets them; a rule already there keeps its targets.
 */
export function putAppRules(
  bus: LocalEventBus,
  app: Pick<AppDefinition, 'rules'>,
  // The local service names a state machine's ARN from its name alone (region of the bus, local account).
  stateMachineArn: (name: string) => string = (name) =>
    `arn:aws:states:${bus.arn.split(':')[3]}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`,
): void {
  for (const entry of app.rules) bus.putRule(deployedRule(entry, stateMachineArn));
}

/** The app's settings on this local cloud: its names, path-style S3; the rest given. */
export function localAppSettings(
  cloud: Pick<LocalCloud, 'region' | 'tableName' | 'bucket' | 'eventBusName'>,
  settings: Partial<AppSettings> = {},
): AppSettings {
  return {
    region: cloud.region,
    tableName: cloud.tableName,
    bucket: cloud.bucket,
    eventBusName: cloud.eventBusName,
    endpointName: DEFAULT_ENDPOINT_NAME,
    waitMode: 'poll',
    s3ForcePathStyle: true,
    ...settings,
  };
}

/**
 * `${Name}` → the function's ARN or the value, as CloudFormation's DefinitionSubstitutions do, by the
 * state machine's own tested renderer (JSON-escaped inside the ASL's strings).
 */
export function substitute(
  text: string,
  substitutions: AppDefinition['stateMachines'][number]['substitutions'],
  functionArns: Record<string, string>,
): string {
  const values = Object.fromEntries(
    Object.entries(substitutions).map(([name, sub]): [string, string] => {
      if ('value' in sub) return [name, sub.value];
      const arn = functionArns[sub.functionArn];
      if (!arn) throw new Error(`substitution ${name}: no function '${sub.functionArn}'`);
      return [name, arn];
    }),
  );
  return renderDefinition(text, values);
}

/** The model and endpoint config every endpoint start uses; ones already there are kept. */
export async function createModelAndEndpointConfig(
  sagemaker: SageMakerClient,
  endpoint: AppDefinition['endpoint'],
): Promise<void> {
  await createIfAbsent(() =>
    sagemaker.send(
      new CreateModelCommand({ ModelName: endpoint.modelName, PrimaryContainer: { Image: endpoint.image } }),
    ),
  );
  await createIfAbsent(() =>
    sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: endpoint.endpointConfigName,
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: endpoint.modelName,
            InstanceType: endpoint.instanceType,
            InitialInstanceCount: 1,
          },
        ],
      }),
    ),
  );
}

async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!/already exist/i.test((err as Error).message)) throw err;
  }
}
