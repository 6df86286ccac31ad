// Least privilege, one statement per need, each scoped to this stack's resources: a function's
// SageMaker actions reach only its orchestrator's endpoint, task tokens only this stack's state
// machine, durable callbacks and checkpoints only this stack's durable function. No statement names a
// `*` action. Statements that name a resource which itself references the function (its own ARN, the
// state machine that invokes it) go in a separate policy, so the function does not wait on them.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CONFIG_ENV } from '../shared/config.ts';
import { JOB_EVENT_SOURCE } from '../shared/event-rules.ts';
import { isOrchestrator, ORCHESTRATORS, type Orchestrator } from '../shared/keys.ts';
import type { FunctionDefinition } from './app-definition.ts';

/** The orchestrator a function serves (its ORCHESTRATOR setting); undefined for the shared waker. */
export function orchestratorOf(fn: FunctionDefinition): Orchestrator | undefined {
  const value = fn.environment[CONFIG_ENV.orchestrator];
  return isOrchestrator(value) ? value : undefined;
}

export interface GrantResources {
  table: dynamodb.TableV2;
  bucket: s3.IBucket;
  endpointConfig: sagemaker.CfnEndpointConfig;
  endpointNameFor(orchestrator: Orchestrator): string;
  durableFunctions: lambda.IFunction[];
  stateMachines: sfn.StateMachine[];
}

/** SageMaker ARNs carry the name in lower case, whatever case it was created with. */
export function endpointArn(stack: Stack, name: string): string {
  return stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: name.toLowerCase() });
}

/**
 * An Allow statement. A resource with a wildcard needs its reason, recorded as cdk-nag's acknowledgement
 * of that one finding (AwsSolutions-IAM5[Resource::...]) on `holder`, the role or policy that holds it.
 */
function allow(
  holder: IConstruct,
  actions: string[],
  resources: string[],
  options: { reason?: string; conditions?: Record<string, unknown> } = {},
): iam.PolicyStatement {
  acknowledgeWildcards(holder, resources, options.reason);
  return new iam.PolicyStatement({
    actions,
    resources,
    ...(options.conditions ? { conditions: options.conditions } : {}),
  });
}

/** Acknowledges the IAM5 finding of each wildcard resource, with its reason; none without one. */
export function acknowledgeWildcards(
  holder: IConstruct,
  resources: string[],
  reason: string | undefined,
): void {
  for (const resource of resources) {
    const finding = flattenCfnReference(Stack.of(holder).resolve(resource));
    if (!finding.includes('*')) continue;
    if (!reason) throw new Error(`the wildcard resource ${finding} needs a reason`);
    Validations.of(holder).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
  }
}

/** Checkpoints and callbacks authorize against `function:NAME:VERSION/durable-execution/...`. */
const durableExecutions = (fn: lambda.IFunction) => `${fn.functionArn}:*`;

const REASONS = {
  index: 'Queries go to the table indexes (table/index/NAME), all of them this stack table.',
  inputs: 'Jobs of every user: the key layout users/{user}/input/ is the only scope a job can have.',
  outputs:
    'Results of every user: the key layout users/{user}/output/{sf|ldf}/ is the only scope a job can have.',
  durable:
    'Durable executions are authorized as function:NAME:VERSION/durable-execution/NAME/ID, one resource per execution; function:NAME:* is the narrowest form naming this stack function (Lambda denies the unqualified ARN).',
  logStreams: 'Log streams of this function log group (log-group:NAME:*), created by the runtime.',
};

/**
 * An orchestrator function (ORCHESTRATOR set) runs one orchestrator's jobs on its own endpoint and
 * answers its own waiters; the waker (no ORCHESTRATOR) answers every waiter of both and confirms or
 * removes a failed endpoint.
 */
export function grantFunction(
  stack: Stack,
  fn: lambda.Function,
  orchestrator: Orchestrator | undefined,
  r: GrantResources,
): void {
  const role = fn.role!;
  const own: iam.PolicyStatement[] = [
    allow(
      role,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      [r.table.tableArn, `${r.table.tableArn}/index/*`],
      { reason: REASONS.index },
    ),
  ];
  if (orchestrator) {
    const endpoint = endpointArn(stack, r.endpointNameFor(orchestrator));
    own.push(
      allow(role, ['s3:GetObject'], [r.bucket.arnForObjects('users/*/input/*')], { reason: REASONS.inputs }),
      allow(role, ['s3:PutObject'], [r.bucket.arnForObjects('users/*/output/*')], {
        reason: REASONS.outputs,
      }),
      allow(role, ['sagemaker:CreateEndpoint'], [endpoint, r.endpointConfig.ref]),
      allow(
        role,
        ['sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint', 'sagemaker:InvokeEndpoint'],
        [endpoint],
      ),
      allow(
        role,
        ['events:PutEvents'],
        [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        { conditions: { StringEquals: { 'events:source': JOB_EVENT_SOURCE } } },
      ),
    );
  } else {
    own.push(
      allow(
        role,
        ['sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint'],
        ORCHESTRATORS.map((o) => endpointArn(stack, r.endpointNameFor(o))),
      ),
    );
  }
  for (const statement of own) fn.addToRolePolicy(statement);

  const policy = new iam.Policy(stack, `${fn.node.id}-references`, { roles: [role] });
  const answersSfn = orchestrator === undefined || orchestrator === 'sf';
  const answersDurable = orchestrator === undefined || orchestrator === 'ldf';
  if (answersSfn && r.stateMachines.length > 0) {
    policy.addStatements(
      allow(
        policy,
        ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        r.stateMachines.map((m) => m.stateMachineArn),
      ),
    );
  }
  if (answersDurable && r.durableFunctions.length > 0) {
    policy.addStatements(
      allow(
        policy,
        ['lambda:SendDurableExecutionCallbackSuccess', 'lambda:SendDurableExecutionCallbackFailure'],
        r.durableFunctions.map(durableExecutions),
        { reason: REASONS.durable },
      ),
    );
  }
  if (r.durableFunctions.includes(fn)) {
    policy.addStatements(
      allow(
        policy,
        ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'],
        [durableExecutions(fn)],
        {
          reason: REASONS.durable,
        },
      ),
    );
  }
}

/**
 * The job reconciler (both orchestrators) records jobs whose execution the platform ended: it reads
 * jobs and endpoint items, reads each execution's status (DescribeExecution, GetDurableExecution),
 * writes `_error.json`, publishes `Job Failed`, and stops endpoints left idle (describe, delete). It
 * answers no waiter.
 */
export function grantReconciler(stack: Stack, fn: lambda.Function, r: GrantResources): void {
  const role = fn.role!;
  for (const statement of [
    allow(
      role,
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      [r.table.tableArn, `${r.table.tableArn}/index/*`],
      { reason: REASONS.index },
    ),
    allow(role, ['s3:PutObject'], [r.bucket.arnForObjects('users/*/output/*')], { reason: REASONS.outputs }),
    allow(
      role,
      ['sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint'],
      ORCHESTRATORS.map((o) => endpointArn(stack, r.endpointNameFor(o))),
    ),
    allow(
      role,
      ['events:PutEvents'],
      [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      { conditions: { StringEquals: { 'events:source': JOB_EVENT_SOURCE } } },
    ),
  ])
    fn.addToRolePolicy(statement);
  const policy = new iam.Policy(stack, `${fn.node.id}-references`, { roles: [role] });
  if (r.stateMachines.length > 0) {
    policy.addStatements(
      allow(
        policy,
        ['states:DescribeExecution'],
        r.stateMachines.map((m) =>
          stack.formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${m.stateMachineName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
        {
          reason:
            'Executions are execution:MACHINE:NAME, one resource per execution; execution:MACHINE:* is the narrowest form naming this stack state machine.',
        },
      ),
    );
  }
  if (r.durableFunctions.length > 0) {
    policy.addStatements(
      allow(policy, ['lambda:GetDurableExecution'], r.durableFunctions.map(durableExecutions), {
        reason: REASONS.durable,
      }),
    );
  }
}

/** The log group's streams: logGroup.grantWrite() names `log-group:NAME:*`. */
export function acknowledgeLogStreams(role: iam.IRole, logGroupArn: string): void {
  acknowledgeWildcards(role, [logGroupArn], REASONS.logStreams);
}

/** The state machine invokes its task functions (by the plain ARN its ASL names) and describes their endpoint. */
export function grantStateMachine(
  stack: Stack,
  machine: sfn.StateMachine,
  invoked: lambda.IFunction[],
  definitions: FunctionDefinition[],
  endpointNameFor: (o: Orchestrator) => string,
): void {
  machine.addToRolePolicy(
    allow(
      machine,
      ['lambda:InvokeFunction'],
      invoked.map((fn) => fn.functionArn),
    ),
  );
  const endpoints = definitions.flatMap((d) => {
    const o = orchestratorOf(d);
    return o ? [endpointArn(stack, endpointNameFor(o))] : [];
  });
  if (endpoints.length > 0)
    machine.addToRolePolicy(allow(machine, ['sagemaker:DescribeEndpoint'], endpoints));
  // CDK's logging statement for the state machine's log group.
  acknowledgeWildcards(
    machine,
    ['*'],
    'Log delivery to CloudWatch Logs (logs:CreateLogDelivery and the other vended-log actions CDK adds for the state machine log group) takes no resource narrower than *.',
  );
}

/** The inference container: reads every user input, writes every result, writes its endpoint's logs. */
export function grantModel(
  stack: Stack,
  role: iam.Role,
  bucket: s3.IBucket,
  settings: { endpointName: string },
): void {
  const logGroups = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: `/aws/sagemaker/Endpoints/${settings.endpointName.toLowerCase()}-*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPolicy(
    allow(role, ['s3:GetObject'], [bucket.arnForObjects('users/*/input/*')], { reason: REASONS.inputs }),
  );
  role.addToPolicy(
    allow(role, ['s3:PutObject'], [bucket.arnForObjects('users/*/output/*')], { reason: REASONS.outputs }),
  );
  role.addToPolicy(
    allow(
      role,
      ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      [logGroups, `${logGroups}:*`],
      {
        reason:
          'SageMaker names an endpoint log group /aws/sagemaker/Endpoints/{endpoint}: {base}-* covers this stack two endpoints ({base}-sf, {base}-ldf) and their streams.',
      },
    ),
  );
  role.addToPolicy(
    allow(role, ['cloudwatch:PutMetricData'], ['*'], {
      reason:
        'cloudwatch:PutMetricData takes no resource; the condition holds it to the SageMaker endpoint namespace. The same finding covers ecr:GetAuthorizationToken (from grantPull), which takes no resource either.',
      conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } },
    }),
  );
}
