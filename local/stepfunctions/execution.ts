// One execution of a state machine: the real ASL run by aws-local-stepfunctions, every Task served
// by the one adapter, every timer on the clock, and the history written as Step Functions
// writes it. While it runs it counts as work in flight on the clock, except while all it does is
// wait on the clock (a Wait, a retry's interval) or for a task token. The service owns the bookkeeping (status, dates, the terminal history events); the
// engine owns the control flow (Choice, Map, Parallel, Retry, Catch, paths, intrinsics).
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Clock } from '../common/clock.ts';
import type { SpillStore } from '../common/spill-store.ts';
import { asCaller, type TaskAdapter } from './adapter.ts';
import { registerCaller } from '../common/http-server.ts';
import { engineDefinition, type Json, type ParsedDefinition, type StateInfo } from './definition.ts';
import { isTimeout, timeoutError } from './engine-timeout.ts';
import { statesRuntime } from './errors.ts';
import { GHOST_THREAD, HistoryBuilder, type EngineEvent } from './history.ts';
import {
  awsRuntimeDetail,
  parseWaitTimestamp,
  runtimeCause,
  secondsPathProblem,
  timestampPathProblem,
} from './runtime-causes.ts';
import { parseTaskResource, type TaskResource } from './resource.ts';
import {
  readPath,
  replacePlaceholder,
  seconds,
  TOKEN_PLACEHOLDER,
  withoutHiddenSeconds,
} from './task-input.ts';
import type { TaskTokens } from './task-tokens.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionSettings {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  roleArn: string;
  region: string;
  input: string;
  definition: ParsedDefinition;
  adapter: TaskAdapter;
  tokens: TaskTokens;
  time: Clock;
  log: (line: string) => void;
}

export class Execution {
  status: ExecutionStatus = 'RUNNING';
  readonly startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryBuilder;
  /** Resolves once the execution is closed. */
  readonly done: Promise<void>;
  private includeData = true;
  private closeDone!: () => void;
  private readonly controller = new AbortController();
  private abortEngine: () => void = () => undefined;
  /** Handlers running (not waiting) and handlers waiting on the clock or a token. */
  private readonly activity = { running: 0, waiting: 0, end: undefined as (() => void) | undefined };

  constructor(readonly settings: ExecutionSettings) {
    this.startDate = new Date(settings.time.now());
    this.history = new HistoryBuilder(
      settings.definition.states,
      () => this.includeData,
      () => settings.time.now(),
    );
    this.done = new Promise((resolve) => (this.closeDone = resolve));
  }

  /** Starts the run; returns at once. */
  start(): void {
    const { settings } = this;
    this.updateActivity();
    const input = JSON.parse(settings.input) as Json;
    this.history.write(
      'ExecutionStarted',
      { ...this.history.data('input', input), roleArn: settings.roleArn },
      'root',
      { advance: false },
    );
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const state of settings.definition.states.values()) {
      if (state.type === 'Task') handlers[state.name] = (i) => this.runTask(state, i);
      if (state.type === 'Wait') handlers[state.name] = (i) => this.runWait(state, i);
    }
    const machine = new StateMachine(
      engineDefinition(
        settings.definition.text,
        settings.time.mode.kind === 'scale' ? settings.time.mode.factor : 1,
      ) as never,
      {
        validationOptions: { noValidate: true },
      },
    );
    const run = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: {
          Id: settings.executionArn,
          Name: settings.name,
          RoleArn: settings.roleArn,
          StartTime: this.startDate.toISOString(),
        },
        StateMachine: { Id: settings.stateMachineArn, Name: settings.stateMachineName },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });
    this.abortEngine = run.abort;
    void this.follow(run.eventLogs as AsyncGenerator<EngineEvent>);
    run.result.then(
      (output: unknown) =>
        this.settle(() => this.finish('SUCCEEDED', { output: JSON.stringify(output ?? null) })),
      (err: unknown) => this.settle(() => this.failed(err)),
    );
    if (settings.definition.timeoutSeconds !== undefined) {
      settings.time.sleep(settings.definition.timeoutSeconds, this.controller.signal).then(
        () => this.finish('TIMED_OUT', {}),
        () => undefined,
      );
    }
  }

  /** StopExecution: ABORTED, with the request's error and cause. */
  stop(error?: string, cause?: string): void {
    if (this.status !== 'RUNNING') return;
    this.finish('ABORTED', {
      ...(error === undefined ? {} : { error }),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** GetExecutionHistory's includeExecutionData=false leaves inputs and outputs out. */
  /** Moves a closed execution's history to disk and lets the engine's run go (see HistoryBuilder.spill). */
  spill(store: SpillStore): void {
    if (this.status === 'RUNNING') return;
    this.abortEngine = () => undefined;
    this.history.spill(store);
  }

  historyEvents(includeData: boolean): unknown[] {
    if (includeData) return this.history.events;
    return this.history.events.map((event) => {
      const copy: Record<string, unknown> = { ...event };
      for (const [key, value] of Object.entries(copy)) {
        if (key.endsWith('EventDetails') && value && typeof value === 'object') {
          const details = { ...(value as Record<string, unknown>) };
          for (const field of ['input', 'output', 'parameters']) delete details[field];
          copy[key] = details;
        }
      }
      return copy;
    });
  }

  private async follow(events: AsyncGenerator<EngineEvent>): Promise<void> {
    for await (const event of events) {
      // After the close, the engine may still report queued Map iterations: they are not history.
      if (this.status !== 'RUNNING') break;
      this.history.onEngineEvent(event);
    }
  }

  /** Lets the engine's event log (delivered through promises) catch up before the result is written. */
  private settle(write: () => void): void {
    void nextMacrotask()
      .then(() => nextMacrotask())
      .then(write);
  }

  private failed(err: unknown): void {
    const cause =
      err instanceof ExecutionError && err.cause instanceof Error
        ? err.cause
        : err instanceof Error
          ? err
          : new Error(String(err));
    // The engine's placeholders for a Fail state without Error or Cause: AWS writes neither.
    const error = cause.name === 'FailStateError' ? undefined : cause.name;
    let text = cause.message === 'Execution failed because of a Fail state' ? undefined : cause.message;
    if (error === 'States.Runtime' && text !== undefined) {
      // AWS names the state and the event that entered it, and words the detail its own way.
      const state = this.history.failedState();
      const type = state && this.history.stateType(state.name);
      text = runtimeCause(awsRuntimeDetail(text, type), state);
    }
    this.finish('FAILED', { ...(error ? { error } : {}), ...(text ? { cause: text } : {}) });
  }

  private finish(
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    details: { output?: string; error?: string; cause?: string },
  ): void {
    if (this.status !== 'RUNNING') return;
    this.status = status;
    this.stopDate = new Date(this.settings.time.now());
    if (details.output !== undefined) this.output = details.output;
    if (details.error !== undefined) this.error = details.error;
    if (details.cause !== undefined) this.cause = details.cause;
    const { output, ...errorDetails } = details;
    if (status === 'SUCCEEDED')
      this.history.write(
        'ExecutionSucceeded',
        { ...this.history.data('output', JSON.parse(output ?? 'null')) },
        'root',
      );
    if (status === 'FAILED') {
      this.history.flushFailures(details.error);
      this.history.write('ExecutionFailed', errorDetails, 'root');
    }
    if (status === 'TIMED_OUT') this.history.write('ExecutionTimedOut', {}, 'root');
    if (status === 'ABORTED') this.history.write('ExecutionAborted', errorDetails, 'root', { prev: 0 });
    this.controller.abort(new Error(`execution ${status}`));
    this.abortEngine();
    this.updateActivity();
    this.settings.log(
      `execution ${this.settings.name} ${status}${details.error ? ` (${details.error})` : ''}`,
    );
    this.closeDone();
  }

  /**
   * In flight while running, unless every handler is waiting (on the clock or for a token) and none
   * runs: between states the engine works with no handler called, so that counts as in flight too.
   */
  private updateActivity(): void {
    const a = this.activity;
    const busy = this.status === 'RUNNING' && (a.running > 0 || a.waiting === 0);
    if (busy && !a.end) a.end = this.settings.time.begin();
    if (!busy && a.end) {
      a.end();
      a.end = undefined;
    }
  }

  /** Runs one handler call as work in flight. */
  private async handling<T>(work: () => Promise<T>): Promise<T> {
    this.activity.running++;
    this.updateActivity();
    try {
      return await work();
    } finally {
      this.activity.running--;
      this.updateActivity();
    }
  }

  /** Waits for `waiting` as a handler that does no work meanwhile (the clock may skip ahead). */
  private async waitingFor<T>(waiting: Promise<T>): Promise<T> {
    this.activity.running--;
    this.activity.waiting++;
    this.updateActivity();
    try {
      return await waiting;
    } finally {
      this.activity.waiting--;
      this.activity.running++;
      this.updateActivity();
    }
  }

  /**
   * Runs a Task's call as a caller: while a tracked local server (the Lambda, SageMaker) answers one
   * of its requests, the Task does no work (the server's request is the work in flight), so the clock
   * may skip while that server waits on a timer (a modelled inference). DynamoDB Local is untracked:
   * the Task stays in flight while it answers.
   */
  private async asCaller<T>(call: () => Promise<T>): Promise<T> {
    const a = this.activity;
    let asides = 0;
    let over = false;
    const shift = (toWaiting: boolean): void => {
      a.running += toWaiting ? -1 : 1;
      a.waiting += toWaiting ? 1 : -1;
      this.updateActivity();
    };
    const caller = registerCaller({
      aside: () => {
        if (!over && asides++ === 0) shift(true);
      },
      back: () => {
        if (!over && asides > 0 && --asides === 0) shift(false);
      },
    });
    try {
      return await asCaller(caller.id, call);
    } finally {
      // A call cut off (a timeout, a stop) may leave a server still answering: it no longer counts.
      over = true;
      caller.unregister();
      if (asides > 0) shift(false);
    }
  }

  /** A Wait state, on the clock (the engine's copy has it as a Task served here). */
  private runWait(state: StateInfo, input: Json): Promise<Json> {
    return this.handling(() => this.waitState(state, input));
  }

  private async waitState(state: StateInfo, input: Json): Promise<Json> {
    const def = state.definition;
    let seconds: number;
    if (typeof def.Seconds === 'number') seconds = def.Seconds;
    else if (typeof def.SecondsPath === 'string') {
      const value = readPath(def.SecondsPath, input);
      const problem = secondsPathProblem(def.SecondsPath, value);
      if (problem !== undefined) throw statesRuntime(problem);
      seconds = value as number;
    } else {
      const path = typeof def.TimestampPath === 'string' ? def.TimestampPath : '$';
      const text = typeof def.Timestamp === 'string' ? def.Timestamp : readPath(path, input);
      const at = parseWaitTimestamp(text);
      if (at === undefined) {
        throw statesRuntime(
          typeof def.Timestamp === 'string'
            ? `The Timestamp field is not a valid ISO-8601 extended offset date-time format string: ${def.Timestamp}`
            : timestampPathProblem(path, text),
        );
      }
      seconds = Math.max(0, (at - this.settings.time.now()) / 1000);
    }
    await this.waitingFor(this.settings.time.sleep(seconds, this.controller.signal));
    return input;
  }

  /** A Task state: the adapter's call, its token, timeout and heartbeat, and its history events. */
  private runTask(state: StateInfo, parameters: Json): Promise<Json> {
    return this.handling(() => this.taskState(state, parameters));
  }

  private async taskState(state: StateInfo, parameters: Json): Promise<Json> {
    if (this.status !== 'RUNNING') throw statesRuntime('the execution is closed');
    await nextMacrotask(); // the engine's StateEntered (or StateRetried) reaches the history first
    if (this.status !== 'RUNNING') throw statesRuntime('the execution is closed');
    const thread = this.history.takeTaskThread(state.name);
    // An iteration the engine starts after its Map failed: AWS never runs it, so neither do we.
    if (thread === GHOST_THREAD) throw statesRuntime('the Map iteration was aborted');
    // A retry: the engine started it at once; its interval passes here, on the clock.
    const retryDelay = this.history.takeRetryDelay(thread, state.name);
    if (retryDelay > 0) {
      await this.waitingFor(this.settings.time.sleep(retryDelay, this.controller.signal));
      if (this.status !== 'RUNNING') throw statesRuntime('the execution is closed');
    }
    const def = state.definition;
    const resourceArn = typeof def.Resource === 'string' ? def.Resource : '';
    const resource = parseTaskResource(resourceArn);
    const lambdaFunction = resource?.kind === 'lambda-function';
    const names = {
      resourceType: resource?.resourceType ?? 'unknown',
      resource: resource?.resource ?? resourceArn,
    };
    const timeoutSeconds = seconds(def, 'TimeoutSeconds', parameters);
    const heartbeatSeconds = seconds(def, 'HeartbeatSeconds', parameters);
    const visible = withoutHiddenSeconds(parameters);
    const token = resource?.pattern === 'waitForTaskToken' ? this.settings.tokens.issue() : undefined;
    const effective = token === undefined ? visible : replacePlaceholder(visible, token);
    const timing = {
      ...(timeoutSeconds === undefined ? {} : { timeoutInSeconds: timeoutSeconds }),
      ...(heartbeatSeconds === undefined || lambdaFunction ? {} : { heartbeatInSeconds: heartbeatSeconds }),
    };
    if (lambdaFunction) {
      this.history.write(
        'LambdaFunctionScheduled',
        { resource: resourceArn, ...this.history.data('input', effective), ...timing },
        thread,
      );
      this.history.write('LambdaFunctionStarted', undefined, thread);
    } else {
      this.history.write(
        'TaskScheduled',
        { ...names, region: this.settings.region, parameters: JSON.stringify(effective), ...timing },
        thread,
      );
      this.history.write('TaskStarted', names, thread);
    }

    const task = new AbortController();
    const cancel = (): void => task.abort(new Error('the Task ended'));
    this.controller.signal.addEventListener('abort', cancel, { once: true });
    const timers = new AbortController();
    const limits: Promise<never>[] = [];
    if (timeoutSeconds !== undefined) {
      limits.push(
        new Promise((_, reject) =>
          after(this.settings.time, timeoutSeconds, timers.signal, () =>
            reject(timeoutError('States.Timeout')),
          ),
        ),
      );
    }
    try {
      const result = await Promise.race([
        this.callTask(resource, resourceArn, effective, token, heartbeatSeconds, task.signal, thread, names),
        ...limits,
      ]);
      if (lambdaFunction)
        this.history.write('LambdaFunctionSucceeded', this.history.data('output', result), thread);
      else this.history.write('TaskSucceeded', { ...names, ...this.history.data('output', result) }, thread);
      return result;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (this.status === 'RUNNING') {
        const timedOut = isTimeout(error);
        const details = {
          ...(error.name ? { error: timedOut ? 'States.Timeout' : error.name } : {}),
          ...(error.message && !timedOut ? { cause: error.message } : {}),
        };
        const type = lambdaFunction
          ? timedOut
            ? 'LambdaFunctionTimedOut'
            : 'LambdaFunctionFailed'
          : timedOut
            ? 'TaskTimedOut'
            : 'TaskFailed';
        this.history.write(type, lambdaFunction ? details : { ...names, ...details }, thread);
      }
      throw error;
    } finally {
      timers.abort();
      if (token !== undefined) this.settings.tokens.close(token);
      this.controller.signal.removeEventListener('abort', cancel);
      cancel();
    }
  }

  private async callTask(
    resource: TaskResource | undefined,
    resourceArn: string,
    parameters: Json,
    token: string | undefined,
    heartbeatSeconds: number | undefined,
    signal: AbortSignal,
    thread: string,
    names: { resourceType: string; resource: string },
  ): Promise<Json> {
    if (!resource) {
      throw statesRuntime(
        `No local adapter for the Task resource '${resourceArn}': the local Step Functions service never calls real AWS`,
      );
    }
    if (token === undefined)
      return this.asCaller(() => this.settings.adapter.call(resource, parameters, signal));
    // .waitForTaskToken: the call only hands the token over; SendTask* completes the Task.
    let heartbeatTimer: AbortController | undefined;
    let rejectHeartbeat: (error: Error) => void = () => undefined;
    const heartbeatLost = new Promise<never>((_, reject) => (rejectHeartbeat = reject));
    const beat = (): void => {
      if (heartbeatSeconds === undefined) return;
      heartbeatTimer?.abort();
      heartbeatTimer = new AbortController();
      after(this.settings.time, heartbeatSeconds, heartbeatTimer.signal, () =>
        rejectHeartbeat(timeoutError('States.HeartbeatTimeout')),
      );
    };
    const outcome = this.settings.tokens.wait(token, beat);
    outcome.catch(() => undefined);
    try {
      beat();
      const submitted = await Promise.race([
        this.settings.adapter.call(resource, parameters, signal),
        heartbeatLost,
      ]);
      this.history.write('TaskSubmitted', { ...names, ...this.history.data('output', submitted) }, thread);
      // Until a SendTask* arrives (an open request, in flight) nothing here works: the clock may skip.
      return await this.waitingFor(Promise.race([outcome, heartbeatLost]));
    } finally {
      heartbeatTimer?.abort();
    }
  }
}

/** Calls `fire` once `seconds` of simulated time have passed, unless `signal` aborts first. */
function after(time: Clock, seconds: number, signal: AbortSignal, fire: () => void): void {
  time.sleep(seconds, signal).then(fire, () => undefined);
}
