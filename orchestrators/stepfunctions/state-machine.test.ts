// Static checks of the ASL file: generated from state-machine.ts and not edited since, valid for Step
// Functions, nothing the local engine would ignore, only Task resources the local adapter serves, error
// names from the shared contract, and the structure every path relies on (catches, token timeouts,
// settings from one source).
import validateAsl from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../local/stepfunctions/definition.ts';
import { ERRORS, RETRYABLE_ERROR_NAMES } from '../../shared/errors.ts';
import { generatedAsl } from './asl-file.ts';
import { DEFINITION_SUBSTITUTIONS, readStateMachineAsl, renderDefinition } from './definition.ts';
import { TASK_NAMES } from './tasks.ts';
import { TASKS_FUNCTION_ARN } from '../testing/run-flow.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = { [key: string]: Json };

const str = (value: Json | undefined): string => (typeof value === 'string' ? value : '');

const raw = readStateMachineAsl();
const text = renderDefinition(raw, { TasksFunctionArn: TASKS_FUNCTION_ARN });
const asl = JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const states = Object.entries(asl.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');
const lambdaTasks = tasks.filter(([, s]) => str(s.Resource).startsWith('arn:aws:states:::lambda:invoke'));

/** Every value in the tree with the key it sits under. */
function* walk(node: Json, key = ''): Generator<[string, Json]> {
  yield [key, node];
  if (Array.isArray(node)) for (const item of node) yield* walk(item, key);
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) yield* walk(v, k);
}

const errorMatchers = (state: State) =>
  [...((state.Retry ?? []) as State[]), ...((state.Catch ?? []) as State[])].flatMap(
    (r) => r.ErrorEquals as string[],
  );

describe('the ASL file', () => {
  it('is what `npm run asl` writes from state-machine.ts', async () => {
    expect(raw, 'state-machine.asl.json differs from state-machine.ts: run `npm run asl`').toBe(
      await generatedAsl(),
    );
  });

  it('passes asl-validator (ARNs and paths checked)', () => {
    const result = validateAsl(JSON.parse(text), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('is accepted by the local Step Functions service, which refuses what its engine would ignore', () => {
    expect(parseDefinition(text).states.size).toBe(states.length);
  });

  it('uses nothing aws-local-stepfunctions ignores: JSONPath only, no variables, no distributed Map', () => {
    const ignored = new Set([
      'QueryLanguage',
      'Assign',
      'Arguments',
      'Output',
      'Items',
      'Condition',
      'ItemReader',
      'ItemBatcher',
      'ResultWriter',
      'Variables',
      'Credentials',
    ]);
    const found = [...walk(asl as unknown as Json)].filter(
      ([key, value]) => ignored.has(key) || (typeof value === 'string' && value.includes('{%')),
    );
    expect(found).toEqual([]);
    expect(states.map(([, s]) => s.Type).filter((t) => t === 'Map' || t === 'Parallel')).toEqual([]);
  });

  it('puts definition substitutions only inside JSON strings, and only known ones', () => {
    // The raw file is valid JSON as it stands (what the CDK stack reads).
    const unrendered = JSON.parse(raw) as Json;
    const used = [...walk(unrendered)].flatMap(([, v]) =>
      typeof v === 'string' ? [...v.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]) : [],
    );
    expect(new Set(used)).toEqual(new Set(DEFINITION_SUBSTITUTIONS));
    expect(() => renderDefinition(raw, {})).toThrow(/\$\{TasksFunctionArn\}, which has no substitution/);
  });

  it('calls only Task resources the local adapter serves', () => {
    const served =
      /^arn:aws:states:::(lambda:invoke(\.waitForTaskToken)?|aws-sdk:(sagemaker|s3|dynamodb):[a-zA-Z]+|dynamodb:(getItem|putItem|updateItem|deleteItem)|events:putEvents)$/;
    expect(tasks.map(([, s]) => s.Resource).filter((r) => !served.test(str(r)))).toEqual([]);
    for (const [, s] of lambdaTasks) {
      expect((s.Parameters as State).FunctionName).toBe(TASKS_FUNCTION_ARN);
    }
  });

  it('sends every task Lambda a task it knows', () => {
    const sent = lambdaTasks.map(([, s]) => ((s.Parameters as State).Payload as State).task);
    expect(sent.filter((t) => !TASK_NAMES.includes(t as never))).toEqual([]);
  });

  it('matches only shared error names, States.* and service errors in Retry and Catch', () => {
    const service = /^(Lambda|SageMaker|S3|DynamoDb|DynamoDB|EventBridge)\.[A-Za-z]+Exception$/;
    // What Lambda reports for an invocation that died: its process exited, it timed out, or worse.
    const crashed = new Set(['Runtime.ExitError', 'Sandbox.Timedout', 'Lambda.Unknown']);
    const names = states.flatMap(([, s]) => errorMatchers(s));
    expect(
      names.filter(
        (n) => !Object.hasOwn(ERRORS, n) && !n.startsWith('States.') && !service.test(n) && !crashed.has(n),
      ),
    ).toEqual([]);
  });

  it("retries every task Lambda on exactly the shared retryable names, with backoff, and on Lambda's own errors", () => {
    for (const [name, s] of lambdaTasks) {
      const retry = (s.Retry ?? []) as State[];
      const domain = retry.find((r) => (r.ErrorEquals as string[]).includes('ThrottledError'));
      expect(new Set(domain?.ErrorEquals as string[]), name).toEqual(new Set(RETRYABLE_ERROR_NAMES));
      expect(domain?.BackoffRate, name).toBeGreaterThan(1);
      const lambda = retry.find((r) => (r.ErrorEquals as string[]).includes('Lambda.ServiceException'));
      expect(lambda, name).toBeDefined();
      // A task Lambda that died mid-way ran an activity that is safe to repeat: run it again.
      expect(lambda?.ErrorEquals, name).toEqual(
        expect.arrayContaining(['Runtime.ExitError', 'Sandbox.Timedout']),
      );
    }
  });

  it('catches every failure after admission into the failure path, which records the job', () => {
    const reachable = reachableFrom('CheckMask', { stopAt: new Set(['ReportFailure']) });
    const uncaught = tasks
      .filter(([name]) => reachable.has(name))
      .filter(
        ([, s]) =>
          !((s.Catch ?? []) as State[]).some((c) => (c.ErrorEquals as string[]).includes('States.ALL')),
      )
      .map(([name]) => name);
    expect(uncaught).toEqual([]);
    // The failure path reaches the record of the job, whatever fails on it.
    const failurePath = reachableFrom('ReportFailure');
    expect(failurePath.has('RecordFailed')).toBe(true);
    expect(failurePath.has('JobFailed')).toBe(true);
  });

  it('bounds each token wait by a timeout from the settings that falls back to one check', () => {
    const tokenTasks = tasks.filter(([, s]) => str(s.Resource).endsWith('.waitForTaskToken'));
    expect(tokenTasks.map(([n]) => n).sort()).toEqual(['WaitForEndpoint', 'WaitForMask']);
    for (const [name, s] of tokenTasks) {
      expect(s.TimeoutSecondsPath, name).toMatch(/^\$\.\w+Wait\.seconds$/);
      const [first] = s.Catch as State[];
      expect(first?.ErrorEquals, name).toEqual(['States.Timeout']);
      expect(asl.States[str(first?.Next)]?.Type, name).toBe('Task');
      const waiter = ((s.Parameters as State).Payload as State).waiter as State;
      expect(waiter, name).toEqual({ kind: 'sfn-task-token', 'token.$': '$$.Task.Token' });
    }
  });

  it('takes every number from the settings: Waits by SecondsPath, no literal durations', () => {
    for (const [name, s] of states) {
      expect(
        ['Seconds', 'Timestamp', 'TimeoutSeconds', 'HeartbeatSeconds'].filter((k) => k in s),
        name,
      ).toEqual([]);
      if (s.Type === 'Wait')
        expect(str(s.SecondsPath), name).toMatch(/^\$\.(settings\.\w+|\w+Wait\.seconds)$/);
    }
    const modeChoices = states.filter(([, s]) =>
      JSON.stringify(s.Choices ?? []).includes('"Variable":"$.settings.waitMode"'),
    );
    expect(modeChoices.length).toBeGreaterThan(0);
  });

  it('reaches every state from StartAt, and every path ends', () => {
    const reachable = reachableFrom(asl.StartAt);
    expect(states.map(([n]) => n).filter((n) => !reachable.has(n))).toEqual([]);
    const ends = states.filter(([, s]) => s.Type === 'Succeed' || s.Type === 'Fail' || s.End === true);
    expect(ends.map(([n]) => n).sort()).toEqual(['Completed', 'JobFailed', 'JoinedExistingJob', 'Rejected']);
  });
});

function reachableFrom(start: string, { stopAt = new Set<string>() } = {}): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name) || stopAt.has(name)) continue;
    seen.add(name);
    const s = asl.States[name];
    if (!s) throw new Error(`no state ${name}`);
    const next = [
      s.Next,
      s.Default,
      ...((s.Choices ?? []) as State[]).map((c) => c.Next),
      ...((s.Catch ?? []) as State[]).map((c) => c.Next),
    ];
    for (const n of next) if (typeof n === 'string') queue.push(n);
  }
  return seen;
}
