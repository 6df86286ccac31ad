// The deployed system, built from the one app definition (infra/app-definition.ts) that the local
// deployer runs too: every function, entry, environment, alias, the state machine's ASL file and its
// substitutions, the rules and their targets come from there, so the stack cannot drift from what the
// tests run locally. What only AWS has is added here: the bucket, the table, the image asset, log
// groups, alarms and the dashboard. Permissions are in permissions.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Aws,
  CfnOutput,
  Duration,
  IgnoreMode,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { comparisonDashboard } from '../dashboards/comparison.ts';
import { endpointNameFor } from '../shared/config.ts';
import type { Orchestrator } from '../shared/keys.ts';
import { TABLE_SPEC } from '../shared/table-spec.ts';
import { createAlarms } from './alarms.ts';
import { STACK_OUTPUTS, type StackOutputKey } from './outputs.ts';
import {
  appDefinition,
  dashboardNames,
  deployedRule,
  FUNCTIONS,
  STATE_MACHINE,
  type AppDefinition,
  type FunctionDefinition,
  type StateMachineDefinition,
} from './app-definition.ts';
import {
  acknowledgeLogStreams,
  grantFunction,
  grantModel,
  grantReconciler,
  grantStateMachine,
  orchestratorOf,
} from './permissions.ts';
import type { StackSettings } from './settings.ts';

/** The repository root: the app definition's entries and files are relative to it. */
export const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '..');

/** Variables the Lambda runtime sets itself and refuses in a function's configuration. */
export const LAMBDA_RESERVED_ENV = ['AWS_REGION'] as const;

export interface ComparisonStackProps extends StackProps {
  settings: StackSettings;
}

export class ComparisonStack extends Stack {
  readonly definition: AppDefinition;
  readonly bucket: s3.Bucket;
  readonly table: dynamodb.TableV2;
  readonly functions: Record<string, NodejsFunction> = {};
  readonly aliases: Record<string, lambda.Alias> = {};
  readonly stateMachines: Record<string, sfn.StateMachine> = {};
  readonly rules: Record<string, events.Rule> = {};
  readonly endpointConfig: sagemaker.CfnEndpointConfig;

  constructor(scope: Construct, id: string, props: ComparisonStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.bucket = this.uploadsBucket(settings);
    this.table = this.jobsTable();
    const { endpointConfig, model } = this.inferenceEndpoint(settings);
    this.endpointConfig = endpointConfig;

    this.definition = appDefinition({
      region: Aws.REGION,
      tableName: this.table.tableName,
      bucket: this.bucket.bucketName,
      eventBusName: 'default',
      endpointName: settings.endpointName,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
      instanceType: settings.instanceType,
      waitMode: settings.waitMode,
      idleWindowSeconds: settings.idleWindowSeconds,
      maskWaitSeconds: settings.maskWaitSeconds,
      endpointWaitSeconds: settings.endpointWaitSeconds,
      pollSeconds: settings.pollSeconds,
      pollMaxSeconds: settings.pollMaxSeconds,
      eventFallbackSeconds: settings.eventFallbackSeconds,
      leaseTtlSeconds: settings.leaseTtlSeconds,
      reconcileIntervalMinutes: settings.reconcileIntervalMinutes,
    });
    this.applyEndpointDefinition(endpointConfig, model);

    for (const fn of this.definition.functions) this.addFunction(fn, settings);
    for (const machine of this.definition.stateMachines) this.addStateMachine(machine, settings);
    const resources = {
      table: this.table,
      bucket: this.bucket,
      endpointConfig,
      endpointNameFor: (o: Orchestrator) => endpointNameFor(settings, o),
      durableFunctions: this.definition.functions
        .filter((f) => f.durable)
        .map((f) => this.functions[f.name]!),
      stateMachines: Object.values(this.stateMachines),
    };
    for (const fn of this.definition.functions) {
      if (fn.name === FUNCTIONS.reconciler) grantReconciler(this, this.functions[fn.name]!, resources);
      else grantFunction(this, this.functions[fn.name]!, orchestratorOf(fn), resources);
    }
    for (const entry of this.definition.rules) {
      const rule = deployedRule(entry, (name) => this.stateMachines[name]!.stateMachineArn);
      const cdkRule = new events.Rule(this, rule.name, {
        description: rule.description,
        ...(rule.scheduleExpression === undefined
          ? { eventPattern: cdkEventPattern(rule.eventPattern) }
          : { schedule: events.Schedule.expression(rule.scheduleExpression) }),
      });
      const ruleTargets = entry.targets;
      for (const target of ruleTargets) cdkRule.addTarget(this.ruleTarget(target));
      this.rules[rule.name] = cdkRule;
    }

    const names = dashboardNames(this.definition, {
      region: Aws.REGION,
      stateMachineArn: this.stateMachines[STATE_MACHINE]!.stateMachineArn,
      functionName: (name) => this.functions[name]!.functionName,
    });
    const dashboard = new cloudwatch.CfnDashboard(this, 'ComparisonDashboard', {
      dashboardBody: this.toJsonString(comparisonDashboard(names)),
    });
    createAlarms(this, { ...names, idleWindowSeconds: settings.idleWindowSeconds });

    // What a comparison needs to find the deployment (cli/targets.ts reads them by these keys).
    const outputs: Record<StackOutputKey, string> = {
      [STACK_OUTPUTS.bucket]: this.bucket.bucketName,
      [STACK_OUTPUTS.tableName]: this.table.tableName,
      [STACK_OUTPUTS.stateMachineArn]: names.stateMachineArn,
      [STACK_OUTPUTS.durableAliasArn]: this.aliases[FUNCTIONS.durable]!.functionArn,
      [STACK_OUTPUTS.durableFunctionName]: this.functions[FUNCTIONS.durable]!.functionName,
      [STACK_OUTPUTS.endpointNameSf]: endpointNameFor(settings, 'sf'),
      [STACK_OUTPUTS.endpointNameLdf]: endpointNameFor(settings, 'ldf'),
      [STACK_OUTPUTS.dashboardName]: dashboard.ref,
    };
    for (const [key, value] of Object.entries(outputs)) new CfnOutput(this, key, { value });
  }

  private uploadsBucket(settings: StackSettings): s3.Bucket {
    const bucket = new s3.Bucket(this, 'Uploads', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      // Inputs and results both live under users/ (users/{u}/input/, users/{u}/output/{sf|ldf}/), and a
      // lifecycle filter takes a prefix only: one rule keeps both as long as the job items' TTL.
      lifecycleRules: [
        {
          id: 'expire-user-objects',
          prefix: 'users/',
          expiration: Duration.days(settings.objectRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge notifications set on the bucket itself: the L2's eventBridgeEnabled would add a
    // custom-resource Lambda (Python, x86, s3:PutBucketNotification on *) only to set this one flag.
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs need a second bucket, itself unlogged; object-level audit of this uploads bucket belongs in CloudTrail data events, an account-wide choice.',
    });
    return bucket;
  }

  /** The table of shared/table-spec.ts: on-demand, point-in-time recovery, TTL, GSI1. */
  private jobsTable(): dynamodb.TableV2 {
    const { partitionKey, sortKey, gsi1, ttlAttribute } = TABLE_SPEC;
    const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    return new dynamodb.TableV2(this, 'Jobs', {
      partitionKey: key(partitionKey),
      sortKey: key(sortKey),
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: ttlAttribute,
      globalSecondaryIndexes: [
        {
          indexName: gsi1.indexName,
          partitionKey: key(gsi1.partitionKey),
          sortKey: key(gsi1.sortKey),
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private inferenceEndpoint(settings: StackSettings) {
    // Synth only copies the build context into cdk.out; the image is built and pushed by `cdk deploy`
    // (Docker needed there). The context is what the Dockerfile copies, nothing else.
    const image = new ecrAssets.DockerImageAsset(this, 'InferenceImage', {
      directory: REPOSITORY_ROOT,
      file: 'container/Dockerfile',
      platform: ecrAssets.Platform.LINUX_AMD64,
      ignoreMode: IgnoreMode.DOCKER,
      exclude: [
        '*',
        '!package.json',
        '!package-lock.json',
        '!tsconfig.json',
        '!shared',
        '!container',
        '**/*.test.ts',
      ],
    });
    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'The inference container: pulls its image, reads inputs, writes results and its logs',
    });
    image.repository.grantPull(role);
    grantModel(this, role, this.bucket, settings);
    const model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: role.roleArn,
      primaryContainer: { image: image.imageUri, environment: { AWS_REGION: Aws.REGION } },
    });
    model.node.addDependency(role);
    const endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [],
    });
    return { endpointConfig, model };
  }

  /** The endpoint config's one variant, from the app definition (as the local deployer creates it). */
  private applyEndpointDefinition(config: sagemaker.CfnEndpointConfig, model: sagemaker.CfnModel): void {
    const { variantName, instanceType } = this.definition.endpoint;
    config.productionVariants = [
      {
        variantName,
        modelName: model.attrModelName,
        instanceType,
        initialInstanceCount: 1,
        initialVariantWeight: 1,
      },
    ];
  }

  private addFunction(def: FunctionDefinition, settings: StackSettings): void {
    const logGroup = new logs.LogGroup(this, `${def.name}-logs`, {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role: the default one carries AWS managed policies whose statements cover every log group
    // and every durable execution of the account.
    const role = new iam.Role(this, `${def.name}-role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grantWrite(role);
    acknowledgeLogStreams(role, `${logGroup.logGroupArn}`);
    const fn = new NodejsFunction(this, def.name, {
      entry: path.join(REPOSITORY_ROOT, def.entry),
      handler: def.exportName,
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: path.join(REPOSITORY_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: def.memoryMb,
      timeout: Duration.seconds(def.timeoutSeconds),
      environment: lambdaEnvironment(def.environment),
      role,
      logGroup,
      ...(def.durable
        ? {
            durableConfig: {
              executionTimeout: Duration.seconds(def.durable.executionTimeoutSeconds),
              retentionPeriod: Duration.days(def.durable.retentionPeriodDays),
            },
          }
        : {}),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // The SDK is bundled, not taken from the runtime: the durable callback and checkpoint commands
        // are newer than the SDK a Node 22 runtime ships.
        externalModules: [],
        banner:
          "import { createRequire as bannerCreateRequire } from 'node:module'; const require = bannerCreateRequire(import.meta.url);",
        forceDockerBundling: false,
      },
    });
    this.functions[def.name] = fn;
    if (def.alias)
      this.aliases[def.name] = new lambda.Alias(this, `${def.name}-alias`, {
        aliasName: def.alias,
        version: fn.currentVersion,
      });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node 22 is the project runtime (engines, the local Lambda and the tests run on it); move with them.',
    });
  }

  private addStateMachine(def: StateMachineDefinition, settings: StackSettings): void {
    const substitutions = Object.fromEntries(
      Object.entries(def.substitutions).map(([name, sub]) => [
        name,
        'value' in sub ? sub.value : this.functions[sub.functionArn]!.functionArn,
      ]),
    );
    const logGroup = new logs.LogGroup(this, `${def.name}-logs`, {
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-${def.name}`,
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const machine = new sfn.StateMachine(this, def.name, {
      definitionBody: sfn.DefinitionBody.fromString(
        readFileSync(path.join(REPOSITORY_ROOT, def.definitionFile), 'utf8'),
      ),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    this.stateMachines[def.name] = machine;
    const invoked = Object.values(def.substitutions).flatMap((s) =>
      'functionArn' in s ? [s.functionArn] : [],
    );
    grantStateMachine(
      this,
      machine,
      invoked.map((name) => this.functions[name]!),
      invoked.map((name) => this.definition.functions.find((f) => f.name === name)!),
      (o) => endpointNameFor(settings, o),
    );
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions-SF2',
      reason:
        'X-Ray is not used: the comparison reads executions from GetExecutionHistory and the metrics; tracing would add a cost and a statement on * to one side only.',
    });
  }

  private ruleTarget(target: AppDefinition['rules'][number]['targets'][number]): events.IRuleTarget {
    if ('stateMachine' in target)
      return new targets.SfnStateMachine(this.stateMachines[target.stateMachine]!);
    const fn = this.functions[target.function]!;
    if (target.qualifier === undefined) return new targets.LambdaFunction(fn);
    const alias = this.aliases[target.function];
    if (alias?.aliasName !== target.qualifier) {
      throw new Error(`target ${target.id}: function ${target.function} has no alias '${target.qualifier}'`);
    }
    return new targets.LambdaFunction(alias);
  }
}

/** A function's environment without what the Lambda runtime sets itself (the region). */
export function lambdaEnvironment(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter(([key]) => !(LAMBDA_RESERVED_ENV as readonly string[]).includes(key)),
  );
}

/** EventBridge's pattern JSON as CDK's EventPattern (which spells `detail-type` as `detailType`). */
export function cdkEventPattern(pattern: Record<string, unknown>): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType === undefined ? {} : { detailType }) } as events.EventPattern;
}
