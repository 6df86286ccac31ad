// The local Step Functions service: the Step Functions API (awsJson1_0, as @aws-sdk/client-sfn and
// the AWS CLI speak it) on a free loopback port, over state machines run by Execution.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DEFAULT_LOCAL_REGION } from '../../shared/aws.ts';
import { afterRetention, createClock, type Clock } from '../common/clock.ts';
import { SpillStore } from '../common/spill-store.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import { closeServer, listenOnLoopback, readBody, sendAwsJson } from '../common/http-server.ts';
import type { MetricsSink } from '../common/service-metrics.ts';
import { TaskAdapter, type AdapterEndpoints } from './adapter.ts';
import { DefinitionError, parseDefinition, type ParsedDefinition } from './definition.ts';
import {
  executionAlreadyExists,
  executionDoesNotExist,
  invalidArn,
  invalidDefinition,
  invalidToken,
  SfnApiError,
  stateMachineAlreadyExists,
  stateMachineDoesNotExist,
  validationError,
} from './errors.ts';
import { Execution } from './execution.ts';
import { watchExecution } from './sfn-metrics.ts';
import { statusChangeEvent } from './status-events.ts';
import type { StepFunctionsExecutionStatusChangeEvent } from '../../shared/aws-events.ts';
import { TaskTokens } from './task-tokens.ts';

export interface StepFunctionsOptions {
  region?: string;
  /** The clock of Wait states, Retry intervals, Task timeouts and heartbeats (default real time). */
  clock?: Clock;
  /** The local cloud's endpoints the Task adapter calls; a Task for any other service fails loudly. */
  endpoints?: AdapterEndpoints;
  log?: (line: string) => void;
  /** Where the AWS/States metrics go (the local CloudWatch); none are published without it. */
  metrics?: MetricsSink;
  /**
   * Receives every `Step Functions Execution Status Change` event (the local bus's publish): one when
   * an execution starts, one when it ends, however it ends.
   */
  publish?: (event: StepFunctionsExecutionStatusChangeEvent) => void;
}

interface StateMachineRecord {
  arn: string;
  name: string;
  definition: ParsedDefinition;
  roleArn: string;
  type: string;
  creationDate: Date;
  executions: Map<string, Execution>;
}

type Input = Record<string, unknown>;

/** Names of state machines and executions: 1-80 characters, none of AWS's forbidden ones. */
// eslint-disable-next-line no-control-regex -- AWS forbids control characters in names
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const STATE_MACHINE_ARN = /^arn:aws:states:([a-z0-9-]+):(\d{12}):stateMachine:([^:]+)$/;
const EXECUTION_ARN = /^arn:aws:states:([a-z0-9-]+):(\d{12}):execution:([^:]+):([^:]+)$/;

/** Days Step Functions keeps a closed Standard execution (its history included). */
export const RETENTION_DAYS = 90;

export class LocalStepFunctions {
  readonly region: string;
  readonly time: Clock;
  readonly adapter: TaskAdapter;
  readonly tokens = new TaskTokens();
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, Execution>();
  private readonly log: (line: string) => void;
  private readonly metrics: MetricsSink | undefined;
  private readonly publish: (event: StepFunctionsExecutionStatusChangeEvent) => void;
  private server?: Server;
  private closed = false;
  /** Ends the retention timers when the service stops. */
  private readonly stopping = new AbortController();
  /** Closed executions' histories, on disk until their retention ends. */
  private readonly spilled = new SpillStore('stepfunctions-histories');

  constructor(options: StepFunctionsOptions = {}) {
    this.region = options.region ?? DEFAULT_LOCAL_REGION;
    this.time = options.clock ?? createClock('real');
    this.log = options.log ?? (() => undefined);
    this.metrics = options.metrics;
    this.publish = options.publish ?? (() => undefined);
    this.adapter = new TaskAdapter({ region: this.region, endpoints: options.endpoints ?? {} });
  }

  /** Serves the API on a free port of 127.0.0.1; resolves with the endpoint URL. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    const endpoint = await listenOnLoopback(this.server, this.time);
    // `aws-sdk:sfn:*` Tasks call this very service.
    this.adapter.setEndpoint('stepfunctions', endpoint);
    return endpoint;
  }

  /** Stops every running execution (ABORTED) and the server. */
  async stop(): Promise<void> {
    // Executions aborted because the local cloud goes down are not news for the bus's rules.
    this.closed = true;
    this.stopping.abort(new Error('the local Step Functions service stopped'));
    for (const execution of this.executions.values())
      execution.stop('LocalCloudStopped', 'the local Step Functions service stopped');
    this.adapter.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
    this.spilled.dispose();
  }

  /** An execution by ARN, for in-process callers (tests, the benchmark). */
  execution(arn: string): Execution | undefined {
    return this.executions.get(arn);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void =>
      sendAwsJson(res, status, body, { 'content-type': 'application/x-amz-json-1.0' });
    try {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      let input: Input;
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        input = parsed as Input;
      } catch {
        throw new SfnApiError('SerializationException', 'The request body is not a JSON object');
      }
      const operation = target.startsWith('AWSStepFunctions.')
        ? target.slice('AWSStepFunctions.'.length)
        : '';
      const handler = this.operations[operation];
      if (!handler)
        throw new SfnApiError(
          'UnknownOperationException',
          `The local Step Functions service does not implement '${target}'`,
        );
      send(200, await handler(input));
    } catch (err) {
      if (err instanceof SfnApiError)
        return send(err.status, { __type: `com.amazonaws.sfn#${err.type}`, message: err.message });
      this.log(
        `stepfunctions: internal error ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      send(500, {
        __type: 'com.amazonaws.sfn#InternalFailure',
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private readonly operations: Record<string, (input: Input) => unknown> = {
    CreateStateMachine: (input) => this.createStateMachine(input),
    DescribeStateMachine: (input) => describeMachine(this.machine(input.stateMachineArn)),
    ListStateMachines: (input) => this.listStateMachines(input),
    DeleteStateMachine: (input) => this.deleteStateMachine(input),
    StartExecution: (input) => this.startExecution(input),
    DescribeExecution: (input) => describeExecution(this.findExecution(input.executionArn)),
    ListExecutions: (input) => this.listExecutions(input),
    GetExecutionHistory: (input) => this.getExecutionHistory(input),
    StopExecution: (input) => {
      const execution = this.findExecution(input.executionArn);
      execution.stop(optionalString(input.error), optionalString(input.cause));
      return { stopDate: seconds(execution.stopDate ?? new Date(this.time.now())) };
    },
    SendTaskSuccess: (input) => (this.tokens.success(requireToken(input), input.output), {}),
    SendTaskFailure: (input) => (this.tokens.failure(requireToken(input), input.error, input.cause), {}),
    SendTaskHeartbeat: (input) => (this.tokens.heartbeat(requireToken(input)), {}),
  };

  private createStateMachine(input: Input): unknown {
    const name = input.name;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new SfnApiError('InvalidName', `Invalid Name: '${JSON.stringify(name)}'`);
    if (typeof input.definition !== 'string')
      throw invalidDefinition('SCHEMA_VALIDATION_FAILED: the definition is required');
    const type = input.type ?? 'STANDARD';
    if (type !== 'STANDARD') {
      throw validationError(
        `The local Step Functions service runs STANDARD state machines only, not '${JSON.stringify(type)}'`,
      );
    }
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      // Idempotent only for a byte-identical definition, as on AWS.
      if (existing.definition.text === input.definition)
        return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      throw stateMachineAlreadyExists(arn);
    }
    let definition: ParsedDefinition;
    try {
      definition = parseDefinition(input.definition);
    } catch (err) {
      if (err instanceof DefinitionError) throw invalidDefinition(err.message);
      throw err;
    }
    const record: StateMachineRecord = {
      arn,
      name,
      definition,
      roleArn:
        typeof input.roleArn === 'string'
          ? input.roleArn
          : `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/local-stepfunctions`,
      type: 'STANDARD',
      creationDate: new Date(this.time.now()),
      executions: new Map(),
    };
    this.machines.set(arn, record);
    this.log(`state machine ${name} created`);
    return { stateMachineArn: arn, creationDate: seconds(record.creationDate) };
  }

  private listStateMachines(input: Input): unknown {
    const all = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const { page, nextToken } = paginate(all, input);
    return {
      stateMachines: page.map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: m.type,
        creationDate: seconds(m.creationDate),
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  private deleteStateMachine(input: Input): unknown {
    const arn = input.stateMachineArn;
    if (typeof arn !== 'string' || !STATE_MACHINE_ARN.test(arn)) throw invalidArn(arn);
    const machine = this.machines.get(arn);
    if (machine) {
      for (const execution of machine.executions.values())
        execution.stop('States.Aborted', 'the state machine was deleted');
      this.machines.delete(arn);
    }
    return {};
  }

  private startExecution(input: Input): unknown {
    const machine = this.machine(input.stateMachineArn);
    const name = input.name === undefined ? randomUUID() : input.name;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new SfnApiError('InvalidName', `Invalid Name: '${JSON.stringify(name)}'`);
    const text = input.input === undefined ? '{}' : input.input;
    if (typeof text !== 'string')
      throw new SfnApiError(
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: the input must be a string',
      );
    try {
      JSON.parse(text);
    } catch (err) {
      throw new SfnApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${err instanceof Error ? err.message : String(err)}'`,
      );
    }
    const arn = `arn:aws:states:${this.region}:${LOCAL_ACCOUNT_ID}:execution:${machine.name}:${name}`;
    const existing = machine.executions.get(name);
    if (existing) {
      // As on AWS: the same name and input while the execution runs return it; otherwise a conflict.
      if (existing.status === 'RUNNING' && existing.settings.input === text)
        return { executionArn: arn, startDate: seconds(existing.startDate) };
      throw executionAlreadyExists(arn);
    }
    const execution = new Execution({
      executionArn: arn,
      stateMachineArn: machine.arn,
      stateMachineName: machine.name,
      name,
      roleArn: machine.roleArn,
      region: this.region,
      input: text,
      definition: machine.definition,
      adapter: this.adapter,
      tokens: this.tokens,
      time: this.time,
      log: (line) => this.log(`stepfunctions: ${line}`),
    });
    machine.executions.set(name, execution);
    this.executions.set(arn, execution);
    execution.start();
    watchExecution(execution, this.metrics);
    this.announce(execution);
    this.retain(execution, machine);
    return { executionArn: arn, startDate: seconds(execution.startDate) };
  }

  /**
   * Keeps a closed execution (its description and history) for the 90 days Standard workflows keep
   * them, then forgets it, as AWS does.
   */
  private retain(execution: Execution, machine: StateMachineRecord): void {
    void execution.done.then(() => {
      // Its history waits on disk meanwhile: a long run's memory stays flat.
      if (!this.closed) execution.spill(this.spilled);
      afterRetention(this.time, RETENTION_DAYS, this.stopping.signal, () => {
        this.executions.delete(execution.settings.executionArn);
        if (machine.executions.get(execution.settings.name) === execution)
          machine.executions.delete(execution.settings.name);
        execution.history.forget();
      });
    });
  }

  /** The execution's status changes to the bus: RUNNING now, then its ending (StopExecution included). */
  private announce(execution: Execution): void {
    const where = () => ({ region: this.region, account: LOCAL_ACCOUNT_ID, at: new Date(this.time.now()) });
    this.publish(statusChangeEvent(execution, where()));
    void execution.done.then(() => {
      if (!this.closed) this.publish(statusChangeEvent(execution, where()));
    });
  }

  private listExecutions(input: Input): unknown {
    const machine = this.machine(input.stateMachineArn);
    const filter = input.statusFilter;
    const all = [...machine.executions.values()]
      .filter((e) => filter === undefined || e.status === filter)
      .reverse(); // newest first
    const { page, nextToken } = paginate(all, input);
    return {
      executions: page.map((e) => ({
        executionArn: e.settings.executionArn,
        stateMachineArn: machine.arn,
        name: e.settings.name,
        status: e.status,
        startDate: seconds(e.startDate),
        ...(e.stopDate ? { stopDate: seconds(e.stopDate) } : {}),
        redriveCount: 0,
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  private getExecutionHistory(input: Input): unknown {
    const execution = this.findExecution(input.executionArn);
    const events = execution.historyEvents(input.includeExecutionData !== false);
    const ordered = input.reverseOrder === true ? [...events].reverse() : events;
    const { page, nextToken } = paginate(ordered, input, 100);
    return { events: page, ...(nextToken ? { nextToken } : {}) };
  }

  private machine(arn: unknown): StateMachineRecord {
    if (typeof arn !== 'string' || !STATE_MACHINE_ARN.test(arn)) throw invalidArn(arn);
    const machine = this.machines.get(arn);
    if (!machine) throw stateMachineDoesNotExist(arn);
    return machine;
  }

  private findExecution(arn: unknown): Execution {
    if (typeof arn !== 'string' || !EXECUTION_ARN.test(arn)) throw invalidArn(arn);
    const execution = this.executions.get(arn);
    if (!execution) throw executionDoesNotExist(arn);
    return execution;
  }
}

/** Starts a local Step Functions service; resolves once it listens. */
export async function startLocalStepFunctions(
  options: StepFunctionsOptions = {},
): Promise<LocalStepFunctions & { endpoint: string }> {
  const service = new LocalStepFunctions(options);
  const endpoint = await service.listen();
  return Object.assign(service, { endpoint });
}

function describeMachine(machine: StateMachineRecord): unknown {
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    status: 'ACTIVE',
    definition: machine.definition.text,
    roleArn: machine.roleArn,
    type: machine.type,
    creationDate: seconds(machine.creationDate),
    loggingConfiguration: { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: { enabled: false },
  };
}

function describeExecution(execution: Execution): unknown {
  const closed = execution.status !== 'RUNNING';
  return {
    executionArn: execution.settings.executionArn,
    stateMachineArn: execution.settings.stateMachineArn,
    name: execution.settings.name,
    status: execution.status,
    startDate: seconds(execution.startDate),
    ...(execution.stopDate ? { stopDate: seconds(execution.stopDate) } : {}),
    input: execution.settings.input,
    inputDetails: { included: true },
    ...(execution.output !== undefined
      ? { output: execution.output, outputDetails: { included: true } }
      : {}),
    ...(execution.error !== undefined ? { error: execution.error } : {}),
    ...(execution.cause !== undefined ? { cause: execution.cause } : {}),
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
    ...(closed ? { redriveStatusReason: `Execution is ${execution.status} and cannot be redriven` } : {}),
  };
}

/** Timestamps on the wire are epoch seconds (the SDK throws on ISO strings). */
function seconds(date: Date): number {
  return date.getTime() / 1000;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function requireToken(input: Input): string {
  if (typeof input.taskToken !== 'string' || input.taskToken === '') throw invalidToken();
  return input.taskToken;
}

/** maxResults/nextToken paging: the token is the next offset, opaque to clients. */
function paginate<T>(items: T[], input: Input, defaultSize = 100): { page: T[]; nextToken?: string } {
  const max = input.maxResults;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000)) {
    throw validationError(
      `1 validation error detected: Value '${JSON.stringify(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  }
  const size = typeof max === 'number' && max > 0 ? max : defaultSize;
  let start = 0;
  if (input.nextToken !== undefined) {
    const decoded =
      typeof input.nextToken === 'string'
        ? Number(Buffer.from(input.nextToken, 'base64url').toString('utf8'))
        : NaN;
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > items.length)
      throw invalidToken('Invalid pagination token');
    start = decoded;
  }
  const end = start + size;
  return {
    page: items.slice(start, end),
    ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}
