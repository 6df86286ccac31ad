// Runs the real ASL on aws-local-stepfunctions against a FakeWorld, to test the flow alone. Every
// Task state gets a local handler (none may reach AWS): `lambda:invoke` dispatches its Payload through
// the real task handler (tasks.ts) to the fake activities; `.waitForTaskToken` issues a token and
// takes the world's answer or a States.Timeout; the native DescribeEndpoint asks the world. Wait
// states become Tasks that move the world's clock by their SecondsPath (so a cold start takes as many
// rounds as on AWS, in no real time), and a token wait's TimeoutSecondsPath is evaluated by the engine
// too. Transitions are counted from the engine's event log as AWS bills them (sfn-wire.md §5): one per
// state entered, plus one per retry.
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { parseConfig, type Config } from '../../shared/config.ts';
import { readStateMachineAsl, renderDefinition } from '../stepfunctions/definition.ts';
import { stateMachineSettings } from '../stepfunctions/settings.ts';
import type { MetricName } from '../../shared/observability.ts';
import { createTaskHandler } from '../stepfunctions/tasks.ts';
import type { FakeWorld } from './fake-world.ts';

export const TASKS_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sf-tasks';
const LOCAL_WAIT = 'arn:aws:states:::local:wait';
const TOKEN_PLACEHOLDER = '__task_token__';
const TIMEOUT_FIELD = '__timeoutSeconds';

type JsonObject = Record<string, unknown>;

export interface FlowRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** States entered plus retries: the billed transitions. */
  transitions: number;
  retries: number;
  /** Task Lambda invocations (each attempt counts). */
  lambdaInvocations: number;
  /** Native SageMaker DescribeEndpoint calls. */
  describeCalls: number;
  /** State names in the order they were entered. */
  entered: string[];
  /** The metrics the task Lambda recorded, in order. */
  metrics: [MetricName, number][];
}

/** The config the task Lambda would load; defaults as deployed, `overrides` by setting name. */
export function flowConfig(overrides: Record<string, string> = {}): Config {
  return parseConfig({
    AWS_REGION: 'us-east-1',
    TABLE_NAME: 'jobs',
    BUCKET_NAME: 'uploads',
    ENDPOINT_NAME: 'reconstruct-3d',
    ORCHESTRATOR: 'sf',
    ...overrides,
  });
}

export async function runFlow(world: FakeWorld, config: Config, input: unknown = {}): Promise<FlowRun> {
  const definition = JSON.parse(
    renderDefinition(readStateMachineAsl(), { TasksFunctionArn: TASKS_FUNCTION_ARN }),
  ) as { States: Record<string, JsonObject> };
  const metrics: [MetricName, number][] = [];
  const dispatch = createTaskHandler(world.activities, stateMachineSettings(config), {
    record: (name, value) => metrics.push([name, value]),
    flush: () => undefined,
  });
  const handlers: Record<string, (input: JsonObject) => Promise<unknown>> = {};
  const retryOverrides: Record<string, number> = {};
  let lambdaInvocations = 0;
  let describeCalls = 0;
  let tokens = 0;

  const invokeTask = async (payload: unknown): Promise<unknown> => {
    lambdaInvocations++;
    try {
      return await dispatch(payload);
    } catch (err) {
      // As Lambda reports a function error: the name is the error type, the cause its payload.
      const e = err as Error;
      throw Object.assign(new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message })), {
        name: e.name,
      });
    }
  };

  for (const [name, state] of Object.entries(definition.States)) {
    retryOverrides[name] = 0;
    if (state.Type === 'Wait') {
      // The engine copy: a Task that moves the world's clock by the Wait's own SecondsPath.
      const secondsPath = state.SecondsPath;
      if (typeof secondsPath !== 'string') throw new Error(`Wait ${name} must use SecondsPath`);
      definition.States[name] = {
        Type: 'Task',
        Resource: LOCAL_WAIT,
        Parameters: { 'seconds.$': secondsPath, 'input.$': '$' },
        ...(state.Next ? { Next: state.Next } : { End: true }),
      };
      handlers[name] = (i) => {
        world.advance(wholeSeconds(i.seconds, `${name}.SecondsPath`));
        return Promise.resolve(i.input);
      };
      continue;
    }
    if (state.Type !== 'Task') continue;
    const resource = state.Resource as string;
    if (resource === 'arn:aws:states:::lambda:invoke') {
      handlers[name] = async (i) => ({
        StatusCode: 200,
        ExecutedVersion: '$LATEST',
        Payload: await invokeTask(i.Payload),
      });
    } else if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      const timeoutPath = state.TimeoutSecondsPath;
      if (typeof timeoutPath !== 'string') throw new Error(`token task ${name} must set TimeoutSecondsPath`);
      delete state.TimeoutSecondsPath;
      state.Parameters = { ...(state.Parameters as JsonObject), [`${TIMEOUT_FIELD}.$`]: timeoutPath };
      handlers[name] = async (i) => {
        const token = `token-${++tokens}`;
        const payload = JSON.parse(JSON.stringify(i.Payload).replaceAll(TOKEN_PLACEHOLDER, token)) as unknown;
        await invokeTask(payload);
        return world.awaitToken(token, wholeSeconds(i[TIMEOUT_FIELD], `${name}.TimeoutSecondsPath`));
      };
    } else if (resource === 'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint') {
      handlers[name] = (i) => {
        describeCalls++;
        try {
          return Promise.resolve(world.describeEndpoint(String(i.EndpointName)));
        } catch (err) {
          const e = err as Error;
          // Step Functions' name for an aws-sdk integration's error.
          throw Object.assign(new Error(e.message), { name: `SageMaker.${e.name}` });
        }
      };
    } else {
      throw new Error(`no local handler for ${name}'s resource ${resource}`);
    }
  }

  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retryOverrides },
    context: {
      Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:sf-jobs:exec-1', Name: 'exec-1' },
      Task: { Token: TOKEN_PLACEHOLDER },
    },
  });
  const entered: string[] = [];
  let retries = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<{
      type: string;
      state?: { name: string };
    }>) {
      if (event.type === 'StateEntered' && event.state) entered.push(event.state.name);
      if (event.type === 'StateRetried') retries++;
      if (event.type !== 'ExecutionStarted' && event.type.startsWith('Execution')) break;
    }
  })();
  const counts = () => ({
    transitions: entered.length + retries,
    retries,
    lambdaInvocations,
    describeCalls,
    entered,
    metrics,
  });
  try {
    const output = (await execution.result) as unknown;
    await counting;
    return { status: 'SUCCEEDED', output, ...counts() };
  } catch (err) {
    await counting;
    const cause = err instanceof ExecutionError ? (err.cause as Error) : (err as Error);
    return {
      status: 'FAILED',
      error: (cause as { name?: string }).name ?? 'Error',
      cause: cause.message,
      ...counts(),
    };
  }
}

function wholeSeconds(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`${where} must resolve to whole seconds, got ${JSON.stringify(value)}`);
  return value;
}
