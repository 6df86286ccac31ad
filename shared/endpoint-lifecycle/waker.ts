// The waker: the target of the `endpoint-state-changed` rule. Each endpoint item named by the event
// settles its own waiters. A failure is rethrown after every item had its turn, so the bus delivers
// the event again.
import type { SageMakerEndpointStateChangeEvent } from '../aws-events.ts';
import { failureOf } from '../errors.ts';
import type { EndpointLifecycle } from './lifecycle.ts';
import type { WaiterSenders } from './waiter-senders.ts';

export interface WakerDeps {
  /** The lifecycles of the endpoint named in the event (none when it is not one of ours). */
  lifecyclesFor(endpointName: string): EndpointLifecycle[];
  senders: WaiterSenders;
  log?: (line: string) => void;
}

export function createWaker(
  deps: WakerDeps,
): (event: SageMakerEndpointStateChangeEvent) => Promise<string[]> {
  return async (event) => {
    const name = event.detail.EndpointName;
    const lifecycles = deps.lifecyclesFor(name);
    const results = await Promise.allSettled(lifecycles.map((l) => l.handleStateChange(event, deps.senders)));
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value : `error: ${String(r.reason)}`));
    deps.log?.(`waker ${name} ${event.detail.EndpointStatus}: ${outcomes.join('; ') || 'not one of ours'}`);
    return settled(results, `waker for ${name}`);
  };
}

/**
 * The answers of work that ran side by side (a waker's per-item or per-orchestrator parts), once every
 * part had its turn; any failure is thrown as one AggregateError naming each, so the bus delivers the
 * event again.
 */
export function settled(results: PromiseSettledResult<string>[], what: string): string[] {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    throw new AggregateError(
      failed.map((f) => f.reason as unknown),
      `${what} failed: ${failed.map((f) => failureOf(f.reason).message).join('; ')}`,
    );
  }
  return results.map((r) => (r as PromiseFulfilledResult<string>).value);
}
