// Replaying a finished durable execution from its recorded operations: the handler runs once more,
// in a sandbox of its own, with every recorded operation as its initial state (what Lambda hands a
// re-invocation), against a checkpoint token that belongs to the replay only, so the execution
// itself never changes. A deterministic handler consumes the recorded operations and returns the
// recorded outcome without a single checkpoint; anything else is reported as non-determinism.
import { randomUUID } from 'node:crypto';
import type { ErrorObject, Operation, OperationUpdate } from '@aws-sdk/client-lambda';
import { invalidParameter } from './errors.ts';
import type { ExecutionStatus } from './execution-record.ts';
import { InvocationKilled, type DurableExecution } from './execution.ts';
import { checkpointedEndOf, parseOutput, type CheckpointedEnd } from './invocation-output.ts';
import type { InvocationOutcome, RunningInvocation } from './sandbox.ts';

/** What the checkpoint and state routes talk to: a durable execution or a replay of one. */
export interface CheckpointTarget {
  checkToken(token: string | undefined): void;
  checkpoint(
    token: string | undefined,
    updates: OperationUpdate[],
    clientToken: string | undefined,
    requestBytes: number,
  ): unknown;
  state(): Operation[];
  readonly counters: { checkpointMs: number[] };
}

export type ReplayFindingKind =
  /** The SDK's own check: a replayed position has another operation type, name or subtype. */
  | 'sdk-non-determinism'
  /** The replay started an operation the history does not have. */
  | 'new-operation'
  /** The replay checkpointed an operation the history recorded as ended. */
  | 'checkpoint'
  /** The replay ended otherwise than the execution (status, result or error). */
  | 'outcome'
  /** The replay's invocation itself failed (an error thrown past the SDK, a crash). */
  | 'invocation-failed';

export interface ReplayFinding {
  kind: ReplayFindingKind;
  message: string;
}

export interface ReplayReport {
  executionArn: string;
  /** The status the execution ended with. */
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  /**
   * True when the handler itself ended the execution (SUCCEEDED or FAILED by its output): the
   * history then holds the whole run, so the replay must add nothing and end the same. Otherwise
   * (stopped, timed out, failed invocations) it is checked up to where the history ends.
   */
  complete: boolean;
  /** Recorded operations the replay was handed (the EXECUTION operation included). */
  operations: number;
  /** Checkpoint requests the replay made (0 for a deterministic replay of a complete history). */
  checkpoints: number;
  /** How the replay's invocation ended: its output status, or KILLED when the replay stopped it. */
  replayStatus: 'SUCCEEDED' | 'FAILED' | 'PENDING' | 'KILLED' | 'ERROR';
  findings: ReplayFinding[];
  deterministic: boolean;
  /** Real milliseconds the replay took, the sandbox's cold start included. */
  ms: number;
}

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'STOPPED']);
export const SDK_NON_DETERMINISM = 'NonDeterministicExecutionError';

export class ExecutionReplay implements CheckpointTarget {
  readonly id = randomUUID();
  readonly counters = { checkpointMs: [] as number[] };
  readonly findings: ReplayFinding[] = [];
  checkpoints = 0;
  /** The sandbox running the replay, so a divergent checkpoint can stop it before its side effects. */
  running: RunningInvocation | undefined;
  private readonly operations: Operation[];
  private readonly recorded: Map<string, Operation>;
  private readonly complete: boolean;
  private token: string;
  private killed = false;
  private checkpointedEnd: CheckpointedEnd | undefined;

  constructor(
    readonly execution: DurableExecution,
    private readonly staleTokenMessage: string,
  ) {
    if (execution.status === 'RUNNING') {
      throw invalidParameter(
        `Durable execution ${execution.arn} is still running: only a finished execution can be replayed.`,
      );
    }
    // A copy: nothing the replay hands out is shared with the execution.
    this.operations = structuredClone(execution.state());
    this.recorded = new Map(this.operations.map((op) => [op.Id!, op]));
    this.complete = execution.endedByHandler;
    this.token = this.rotateToken();
  }

  /** The invocation event: the recorded operations, paged as the execution pages them. */
  invocationEvent(pageSize: number): unknown {
    const page = this.operations.slice(0, pageSize);
    // Through JSON, as the execution's own events: timestamps become ISO strings, as the SDK expects.
    return JSON.parse(
      JSON.stringify({
        DurableExecutionArn: this.execution.arn,
        CheckpointToken: this.token,
        InitialExecutionState: {
          Operations: page,
          ...(this.operations.length > page.length ? { NextMarker: String(page.length) } : {}),
        },
      }),
    ) as unknown;
  }

  /** Whether a checkpoint token (live or stale) was handed out by this replay. */
  owns(token: string | undefined): boolean {
    if (!token) return false;
    try {
      return (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { r?: unknown }).r === this.id;
    } catch {
      return false;
    }
  }

  checkToken(token: string | undefined): void {
    if (token !== this.token || this.token === '') throw invalidParameter(this.staleTokenMessage);
  }

  state(): Operation[] {
    return this.operations;
  }

  checkpoint(token: string | undefined, updates: OperationUpdate[]): unknown {
    this.checkToken(token);
    this.checkpoints++;
    let divergent: OperationUpdate | undefined;
    for (const u of updates) {
      if (u.Type === 'EXECUTION') {
        // A result too large for the invocation's response is checkpointed: it is the outcome.
        this.checkpointedEnd = checkpointedEndOf(u);
        continue;
      }
      if (divergent) continue; // the first divergent update is reported; the replay stops there
      divergent = u;
      if (!this.complete) continue; // the history ends here: what follows was never recorded
      const op = this.recorded.get(u.Id ?? '');
      const what = `${u.Action} ${u.Type} '${u.Name ?? ''}' (${u.Id})`;
      if (!op) {
        this.findings.push({
          kind: u.Action === 'START' ? 'new-operation' : 'checkpoint',
          message: `the replay checkpointed ${what}, an operation the history does not have`,
        });
      } else if (ENDED.has(op.Status ?? '')) {
        this.findings.push({
          kind: 'checkpoint',
          message: `the replay checkpointed ${what}, which the history recorded as ${op.Status}`,
        });
      } else {
        this.findings.push({
          kind: 'checkpoint',
          message: `the replay checkpointed ${what}, left ${op.Status} by an execution that ended ${this.execution.status}`,
        });
      }
    }
    if (divergent) {
      // Stop here: anything past this point would run step bodies (side effects) a second time.
      this.killed = true;
      this.token = '';
      this.running?.kill(`replay stopped at ${divergent.Action} of '${divergent.Name ?? divergent.Id}'`);
      throw new InvocationKilled('replay stopped at a checkpoint that is not in the history');
    }
    const response: Record<string, unknown> = { NewExecutionState: { Operations: [] } };
    if (this.checkpointedEnd) this.token = '';
    else response.CheckpointToken = this.rotateToken();
    return response;
  }

  /** Compares the replay's invocation with the recorded execution. */
  report(outcome: InvocationOutcome, ms: number): ReplayReport {
    const execution = this.execution;
    let replayStatus: ReplayReport['replayStatus'];
    if (this.killed) replayStatus = 'KILLED';
    else if (!outcome.ok) {
      replayStatus = 'ERROR';
      this.findings.push({
        kind: 'invocation-failed',
        message: `the replay's invocation failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      });
    } else {
      const output = parseOutput(outcome.payload);
      const status = this.checkpointedEnd?.status ?? output?.Status;
      replayStatus = status === 'SUCCEEDED' || status === 'FAILED' || status === 'PENDING' ? status : 'ERROR';
      const error = this.checkpointedEnd?.error ?? output?.Error;
      if (status === 'FAILED' && error?.ErrorType === SDK_NON_DETERMINISM) {
        this.findings.push({
          kind: 'sdk-non-determinism',
          message: error.ErrorMessage ?? SDK_NON_DETERMINISM,
        });
      } else if (this.complete) {
        const result = this.checkpointedEnd?.result ?? output?.Result;
        const mismatch = outcomeMismatch(execution, status, result, error);
        if (mismatch) this.findings.push({ kind: 'outcome', message: mismatch });
      }
    }
    return {
      executionArn: execution.arn,
      status: execution.status as ReplayReport['status'],
      complete: this.complete,
      operations: this.operations.length,
      checkpoints: this.checkpoints,
      replayStatus,
      findings: this.findings,
      deterministic: this.findings.length === 0,
      ms,
    };
  }

  private rotateToken(): string {
    this.token = Buffer.from(JSON.stringify({ e: this.execution.id, r: this.id, n: randomUUID() })).toString(
      'base64',
    );
    return this.token;
  }
}

function outcomeMismatch(
  execution: DurableExecution,
  status: string | undefined,
  result: string | undefined,
  error: ErrorObject | undefined,
): string | undefined {
  if (status !== execution.status) {
    return `the replay ended ${status ?? 'without a durable output'}, the execution ${execution.status}`;
  }
  if (status === 'SUCCEEDED' && (result ?? '') !== (execution.result ?? '')) {
    return `the replay returned ${result ?? '(nothing)'}, the execution ${execution.result ?? '(nothing)'}`;
  }
  if (
    status === 'FAILED' &&
    (error?.ErrorType !== execution.error?.ErrorType || error?.ErrorMessage !== execution.error?.ErrorMessage)
  ) {
    return `the replay failed with ${error?.ErrorType}: ${error?.ErrorMessage}, the execution with ${execution.error?.ErrorType}: ${execution.error?.ErrorMessage}`;
  }
  return undefined;
}
