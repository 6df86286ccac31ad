// Running replays (see replay.ts): the replays in progress by the execution they replay, so that a
// checkpoint with a replay's token reaches the replay, and the warm sandbox pools per function that
// run replays only (`sandbox: 'replay-pool'`).
import type { Clock } from '../common/clock.ts';
import type { DurableExecution } from './execution.ts';
import type { DeployedFunction } from './functions.ts';
import { invocationContext } from './invocation-context.ts';
import { ExecutionReplay, type ReplayReport } from './replay.ts';
import { FunctionSandboxes, type RunningInvocation } from './sandbox.ts';

export interface ReplaySettings {
  staleTokenMessage: string;
  eventPageSize: number;
  maxConcurrency: number;
  clock: Clock;
}

export class ReplayRunner {
  /** Replays in progress, by the ARN of the execution they replay. */
  private readonly replays = new Map<string, Set<ExecutionReplay>>();
  /** Sandboxes that run replays only, per function. */
  private readonly pools = new Map<string, FunctionSandboxes>();

  constructor(private readonly settings: ReplaySettings) {}

  async replay(
    execution: DurableExecution,
    fn: DeployedFunction,
    sandbox: 'fresh' | 'replay-pool' | undefined,
  ): Promise<ReplayReport> {
    const started = performance.now();
    const replay = new ExecutionReplay(execution, this.settings.staleTokenMessage);
    const active = this.replays.get(execution.arn) ?? new Set();
    this.replays.set(execution.arn, active.add(replay));
    try {
      const request = {
        event: replay.invocationEvent(this.settings.eventPageSize),
        context: invocationContext(fn, execution.spec.functionArn, execution.spec.version),
      };
      const onStart = (running: RunningInvocation) => (replay.running = running);
      const outcome =
        sandbox === 'replay-pool'
          ? await this.pool(fn).invoke(request, onStart)
          : await fn.sandboxes.invokeIsolated(request, onStart);
      return replay.report(outcome, performance.now() - started);
    } finally {
      active.delete(replay);
      if (active.size === 0) this.replays.delete(execution.arn);
    }
  }

  /** The replay of execution `arn` that handed out `token`, if any. */
  owning(arn: string, token: string | undefined): ExecutionReplay | undefined {
    for (const replay of this.replays.get(arn) ?? []) if (replay.owns(token)) return replay;
    return undefined;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.stop()));
  }

  private pool(fn: DeployedFunction): FunctionSandboxes {
    let pool = this.pools.get(fn.name);
    if (!pool) {
      pool = new FunctionSandboxes(
        { entry: fn.entry, exportName: fn.exportName },
        fn.environment,
        this.settings.maxConcurrency,
        this.settings.clock,
      );
      this.pools.set(fn.name, pool);
    }
    return pool;
  }
}
