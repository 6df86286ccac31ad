// The synthesized stack, once for the whole file (bundling three functions with esbuild is the slow
// part): what it deploys, how narrowly it grants, that cdk-nag finds nothing unacknowledged, and that
// it deploys exactly what the app definition declares (which the local deployer runs too).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { substitute } from '../local/deploy-app.ts';
import { CONFIG_ENV } from '../shared/config.ts';
import { METRICS_NAMESPACE } from '../shared/observability.ts';
import { createTableInput, TABLE_SPEC } from '../shared/table-spec.ts';
import { buildApp } from './app.ts';
import { comparisonDashboardJson } from '../dashboards/comparison.ts';
import {
  dashboardNames,
  deployedRule,
  FUNCTIONS,
  ORCHESTRATOR_ALIAS,
  STATE_MACHINE,
} from './app-definition.ts';
import { STOP_GRACE_MINUTES } from './alarms.ts';
import { STACK_OUTPUTS } from './outputs.ts';
import { lambdaEnvironment, REPOSITORY_ROOT } from './stack.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-stack-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
// Context as `-c key=value` gives it (strings), away from the defaults, so the test sees it flow through.
const { app, stack } = buildApp({ outdir, context: { waitMode: 'event', idleWindowSeconds: '900' } });
const assembly = app.synth();
const template = Template.fromJSON(
  assembly.getStackByName(stack.stackName).template as Record<string, unknown>,
);
const resources = template.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);
const statements = (): Statement[] =>
  Object.values(resources).flatMap((r) => {
    if (r.Type === 'AWS::IAM::Policy')
      return (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    if (r.Type === 'AWS::IAM::Role') {
      const inline = (r.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
      return inline.flatMap((p) => p.PolicyDocument.Statement);
    }
    return [];
  });
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const definition = stack.definition;
const fnDef = (name: string) => definition.functions.find((f) => f.name === name)!;

describe('the synthesized stack', () => {
  it('passes cdk-nag AwsSolutions with nothing unacknowledged (and the check does catch a violation)', () => {
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations.map((v) => v.ruleName))).toEqual([]);

    const controlDir = mkdtempSync(path.join(tmpdir(), 'cdk-nag-control-'));
    try {
      const control = new App({ outdir: controlDir });
      Validations.of(control).addPlugins(new AwsSolutionsChecks(control));
      new s3.Bucket(new Stack(control, 'Control'), 'PlainBucket');
      expect(() => control.synth()).toThrow();
      expect(readFileSync(path.join(controlDir, 'validation-report.json'), 'utf8')).toContain(
        'AwsSolutions-S10',
      );
    } finally {
      rmSync(controlDir, { recursive: true, force: true });
    }
  });

  it('starts both orchestrators from one upload rule: the state machine and the durable alias (a qualified ARN)', () => {
    const rule = resources[logicalId(stack.rules['image-uploaded']!)]!;
    const targets = rule.Properties.Targets as { Arn: unknown }[];
    expect(targets).toHaveLength(2);
    const aliasId = (targets[0]!.Arn as { Ref: string }).Ref;
    expect(resources[aliasId]).toMatchObject({
      Type: 'AWS::Lambda::Alias',
      Properties: {
        Name: ORCHESTRATOR_ALIAS,
        FunctionName: { Ref: logicalId(stack.functions[FUNCTIONS.durable]!) },
      },
    });
    expect(targets[1]!.Arn).toEqual({ Ref: logicalId(stack.stateMachines[STATE_MACHINE]!) });
    // EventBridge may invoke the alias, not the unqualified function.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { Ref: aliasId },
    });
  });

  it('makes the orchestrator durable with the definition’s timeout and retention', () => {
    const { durable } = fnDef(FUNCTIONS.durable);
    expect(resources[logicalId(stack.functions[FUNCTIONS.durable]!)]!.Properties.DurableConfig).toEqual({
      ExecutionTimeout: durable!.executionTimeoutSeconds,
      RetentionPeriodInDays: durable!.retentionPeriodDays,
    });
    expect(ofType('AWS::Lambda::Function').filter(([, r]) => r.Properties.DurableConfig)).toHaveLength(1);
  });

  it('builds the table of shared/table-spec.ts: keys, GSI1, on demand, point-in-time recovery, TTL', () => {
    const spec = createTableInput('unused');
    const [[, table]] = ofType('AWS::DynamoDB::GlobalTable') as [[string, Resource]];
    expect(table.Properties).toMatchObject({
      KeySchema: spec.KeySchema,
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE_SPEC.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: spec.GlobalSecondaryIndexes,
      Replicas: [
        expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
    expect(table.Properties.AttributeDefinitions).toEqual(expect.arrayContaining(spec.AttributeDefinitions!));
  });

  it('runs every function on Node 22 and ARM64, and has no function the definition does not declare', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(definition.functions.length);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    }
  });

  it('keeps the uploads bucket private, encrypted, TLS-only, versioned, expiring, with EventBridge notifications', () => {
    const bucket = resources[logicalId(stack.bucket)]!.Properties;
    expect(bucket).toMatchObject({
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [expect.objectContaining({ Prefix: 'users/', ExpirationInDays: 30 })],
      },
    });
    const [[, policy]] = ofType('AWS::S3::BucketPolicy') as [[string, Resource]];
    expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('has no dependency cycle (CloudFormation refuses one at deploy time, synth does not)', () => {
    const references = (value: unknown, into: Set<string>): Set<string> => {
      if (Array.isArray(value)) value.forEach((v) => references(v, into));
      else if (value && typeof value === 'object') {
        const o = value as Record<string, unknown>;
        if (typeof o.Ref === 'string' && resources[o.Ref]) into.add(o.Ref);
        const getAtt = o['Fn::GetAtt'] as string[] | undefined;
        if (getAtt && resources[getAtt[0]!]) into.add(getAtt[0]!);
        Object.values(o).forEach((v) => references(v, into));
      }
      return into;
    };
    const dependsOn = (r: Resource & { DependsOn?: string | string[] }) =>
      references(r.Properties, new Set(list(r.DependsOn ?? [])));
    const done = new Set<string>();
    const visit = (id: string, path: string[]): void => {
      expect(path, `cycle: ${[...path, id].join(' -> ')}`).not.toContain(id);
      if (done.has(id)) return;
      for (const next of dependsOn(resources[id]!)) visit(next, [...path, id]);
      done.add(id);
    };
    for (const id of Object.keys(resources)) visit(id, []);
    expect(done.size).toBe(Object.keys(resources).length);
  });

  it('grants no * action, and SageMaker, task-token and durable actions only on this stack’s resources', () => {
    const all = statements();
    expect(all.length).toBeGreaterThan(10);
    for (const s of all)
      for (const action of list(s.Action)) expect(action, JSON.stringify(s)).not.toContain('*');

    const endpoints = [`${definition.settings.endpointName}-sf`, `${definition.settings.endpointName}-ldf`];
    const endpointConfigId = stack.getLogicalId(stack.endpointConfig);
    const stateMachineId = logicalId(stack.stateMachines[STATE_MACHINE]!);
    const durableId = logicalId(stack.functions[FUNCTIONS.durable]!);
    const checked = { sagemaker: 0, taskTokens: 0, durable: 0 };
    for (const s of all.filter((st) => st.Effect === 'Allow')) {
      const actions = list(s.Action);
      const targets = list(s.Resource).map((r) => JSON.stringify(r));
      if (actions.some((a) => a.startsWith('sagemaker:'))) {
        checked.sagemaker++;
        for (const t of targets) {
          expect(
            endpoints.some((e) => t.includes(`:endpoint/${e}"`)) ||
              t === JSON.stringify({ Ref: endpointConfigId }),
            t,
          ).toBe(true);
        }
      }
      if (actions.some((a) => a.startsWith('states:SendTask'))) {
        checked.taskTokens++;
        expect(targets).toEqual([JSON.stringify({ Ref: stateMachineId })]);
      }
      if (actions.some((a) => a.includes('DurableExecution'))) {
        checked.durable++;
        expect(targets).toEqual([
          JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [durableId, 'Arn'] }, ':*']] }),
        ]);
      }
    }
    // Orchestrators 2 + 2 + waker 1 + reconciler 1 + state machine 1; task tokens: sf tasks and waker;
    // durable: itself twice, waker, reconciler (GetDurableExecution).
    expect(checked).toEqual({ sagemaker: 7, taskTokens: 2, durable: 4 });
  });
});

describe('one definition for the stack and the local deployer', () => {
  it('deploys each declared function with its handler, timeout, memory and environment (the region is the runtime’s)', () => {
    for (const def of definition.functions) {
      const fn = resources[logicalId(stack.functions[def.name]!)]!.Properties;
      expect(fn).toMatchObject({
        Handler: `index.${def.exportName}`,
        Timeout: def.timeoutSeconds,
        MemorySize: def.memoryMb,
      });
      expect((fn.Environment as { Variables: unknown }).Variables).toEqual(
        stack.resolve(lambdaEnvironment(def.environment)),
      );
      expect(stack.resolve(def.environment[CONFIG_ENV.region])).toEqual({ Ref: 'AWS::Region' });
      expect(readFileSync(path.join(REPOSITORY_ROOT, def.entry), 'utf8')).toMatch(
        new RegExp(`export (const|async function|function) ${def.exportName}\\b`),
      );
    }
    const env = fnDef(FUNCTIONS.durable).environment;
    expect([env[CONFIG_ENV.waitMode], env[CONFIG_ENV.idleWindowSeconds]]).toEqual(['event', '900']);
  });

  it('runs the ASL file with the declared substitutions, and every placeholder in it is one of them', () => {
    const [machineDef] = definition.stateMachines;
    const machine = resources[logicalId(stack.stateMachines[machineDef!.name]!)]!.Properties;
    const asl = readFileSync(path.join(REPOSITORY_ROOT, machineDef!.definitionFile), 'utf8');
    expect(machine.DefinitionString).toBe(asl);
    const expected = Object.fromEntries(
      Object.entries(machineDef!.substitutions).map(([name, sub]) => [
        name,
        'value' in sub ? sub.value : { 'Fn::GetAtt': [logicalId(stack.functions[sub.functionArn]!), 'Arn'] },
      ]),
    );
    expect(machine.DefinitionSubstitutions).toEqual(expected);
    // The local deployer's substitution throws on a placeholder the definition does not substitute.
    const arns = Object.fromEntries(definition.functions.map((f) => [f.name, `arn:${f.name}`]));
    expect(() => substitute(asl, machineDef!.substitutions, arns)).not.toThrow();
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
  });

  it('routes each declared rule’s pattern to its declared targets, in order', () => {
    expect(ofType('AWS::Events::Rule')).toHaveLength(definition.rules.length);
    for (const entry of definition.rules) {
      const { rule, targets } = entry;
      const cfn = resources[logicalId(stack.rules[rule.name]!)]!.Properties;
      if (rule.scheduleExpression !== undefined) {
        expect(cfn.ScheduleExpression).toBe(rule.scheduleExpression);
        expect(cfn.EventPattern).toBeUndefined();
      } else {
        const deployed = deployedRule(entry, (name) => stack.stateMachines[name]!.stateMachineArn);
        expect(cfn.EventPattern).toEqual(stack.resolve(deployed.eventPattern));
      }
      expect(cfn.Description).toBe(rule.description);
      const arns = (cfn.Targets as { Arn: unknown }[]).map((t) => t.Arn);
      expect(arns).toEqual(
        targets.map((t) => {
          if ('stateMachine' in t) return { Ref: logicalId(stack.stateMachines[t.stateMachine]!) };
          if (t.qualifier) return { Ref: logicalId(stack.aliases[t.function]!) };
          return { 'Fn::GetAtt': [logicalId(stack.functions[t.function]!), 'Arn'] };
        }),
      );
    }
  });

  it('creates the endpoint config the definition declares, with the image built from container/', () => {
    const { variantName, instanceType } = definition.endpoint;
    const [[, config]] = ofType('AWS::SageMaker::EndpointConfig') as [[string, Resource]];
    expect(config.Properties.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: variantName,
        InstanceType: instanceType,
        InitialInstanceCount: 1,
      }),
    ]);
    const images = Object.values(
      (
        JSON.parse(readFileSync(path.join(outdir, `${stack.stackName}.assets.json`), 'utf8')) as {
          dockerImages: Record<
            string,
            { source: { directory: string; dockerFile?: string; platform?: string } }
          >;
        }
      ).dockerImages,
    );
    expect(images.map((i) => [i.source.dockerFile, i.source.platform])).toEqual([
      ['container/Dockerfile', 'linux/amd64'],
    ]);
  });

  it('outputs what the command line needs to find the deployment, under the keys it reads', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
    expect(outputs[STACK_OUTPUTS.bucket]!.Value).toEqual({ Ref: logicalId(stack.bucket) });
    expect(outputs[STACK_OUTPUTS.tableName]!.Value).toEqual({ Ref: logicalId(stack.table) });
    expect(outputs[STACK_OUTPUTS.stateMachineArn]!.Value).toEqual({
      Ref: logicalId(stack.stateMachines[STATE_MACHINE]!),
    });
    expect(outputs[STACK_OUTPUTS.durableFunctionName]!.Value).toEqual({
      Ref: logicalId(stack.functions[FUNCTIONS.durable]!),
    });
    expect(outputs[STACK_OUTPUTS.endpointNameSf]!.Value).toBe(`${definition.settings.endpointName}-sf`);
    expect(outputs[STACK_OUTPUTS.endpointNameLdf]!.Value).toBe(`${definition.settings.endpointName}-ldf`);
  });

  it('deploys the comparison dashboard body for this stack’s state machine, functions and endpoints', () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const text = parts.filter((p): p is string => typeof p === 'string').join('');
    expect(text).toContain(`"${METRICS_NAMESPACE}"`);
    expect(text).toContain(`"${definition.settings.endpointName}-sf"`);
    expect(parts).toContainEqual({ Ref: logicalId(stack.stateMachines[STATE_MACHINE]!) });
    expect(parts).toContainEqual({ Ref: logicalId(stack.functions[FUNCTIONS.durable]!) });
    expect(parts).toContainEqual({ Ref: 'AWS::Region' });
  });

  it('deploys exactly the body the local deployer puts, for the same names', () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const [separator, parts] = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })[
      'Fn::Join'
    ];
    // What CloudFormation resolves each reference to: the names a local deployment uses.
    const stateMachineArn = 'arn:aws:states:eu-west-1:000000000000:stateMachine:sfn-orchestrator';
    const resolved = new Map<string, string>([
      ['AWS::Region', 'eu-west-1'],
      [logicalId(stack.stateMachines[STATE_MACHINE]!), stateMachineArn],
      ...definition.functions.map((f): [string, string] => [logicalId(stack.functions[f.name]!), f.name]),
    ]);
    const body = parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const ref = (part as { Ref?: string }).Ref;
        if (ref === undefined || !resolved.has(ref))
          throw new Error(`unexpected part ${JSON.stringify(part)}`);
        return resolved.get(ref)!;
      })
      .join(separator);
    expect(body).toBe(
      comparisonDashboardJson(
        dashboardNames(definition, { region: 'eu-west-1', stateMachineArn, functionName: (name) => name }),
      ),
    );
  });

  it('alarms on failed jobs and on an endpoint left running past the idle window plus grace', () => {
    const periods = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.EvaluationPeriods);
    expect(periods.filter((p) => p === 900 / 60 + STOP_GRACE_MINUTES)).toHaveLength(2);
    expect(periods.filter((p) => p === 1)).toHaveLength(3);
  });
});
