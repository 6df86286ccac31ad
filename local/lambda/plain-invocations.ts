// Invoking a plain (not durable) function: synchronously, with an armed crash killing the sandbox
// after the handler ran, or asynchronously with Lambda's two retries one and two minutes apart.
import type { Clock } from '../common/clock.ts';
import type { CrashInjection } from './crash-injection.ts';
import type { ResolvedFunction } from './functions.ts';
import { invocationContext } from './invocation-context.ts';
import type { LambdaMetrics } from './lambda-metrics.ts';
import type { InvocationOutcome } from './sandbox.ts';

export class PlainInvocations {
  constructor(
    private readonly crashes: CrashInjection,
    private readonly time: Clock,
    private readonly log: ((line: string) => void) | undefined,
    private readonly metrics: LambdaMetrics,
  ) {}

  async run(resolved: ResolvedFunction, event: unknown): Promise<InvocationOutcome> {
    const { fn } = resolved;
    const invoked = resolved.qualifier ? `${fn.arn}:${resolved.qualifier}` : fn.arn;
    const crash = this.crashes.takePlain(fn.name, event);
    let kill: ((reason: string) => void) | undefined;
    const outcome = await this.metrics.invocation(fn.name, resolved.qualifier, (onStart) =>
      fn.sandboxes.invoke({ event, context: invocationContext(fn, invoked, resolved.version) }, (running) => {
        kill = (reason) => running.kill(reason);
        onStart(running);
      }),
    );
    if (!crash) return outcome;
    // The handler did its work; its process dies before the answer leaves, as Lambda reports it.
    kill?.('injected crash after the handler ran');
    return {
      ok: false,
      error: {
        errorType: 'Runtime.ExitError',
        errorMessage: 'RequestId: local Error: Runtime exited with error: signal: killed (injected crash)',
      },
    };
  }

  /** Lambda's asynchronous invocation: two retries after a failed attempt, one and two minutes apart. */
  async runAsync(resolved: ResolvedFunction, event: unknown): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const outcome = await this.run(resolved, event);
      if (outcome.ok) return;
      this.log?.(
        `lambda ${resolved.fn.name}: async invocation failed (attempt ${attempt}): ${outcome.error.errorMessage}`,
      );
      if (attempt < 3) await this.time.sleep(60 * attempt);
    }
  }
}
