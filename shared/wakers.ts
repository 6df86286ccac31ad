// The waker's two jobs, for both orchestrators (the waker Lambda, orchestrators/waker/handler.ts,
// only routes to them): SageMaker's `Endpoint State Change` completes the endpoint waiters (each
// endpoint item settles its own, endpoint-lifecycle/waker.ts), a mask's `Object Created` completes
// the jobs waiting for that mask. Every waiter is answered by answerWaiter (claim, send, put back
// on a failed send), the same function the registrations use.
import type { S3ObjectCreatedEvent, SageMakerEndpointStateChangeEvent } from './aws-events.ts';
import { jobStoreOf, lifecycleFor, type Deps } from './deps.ts';
import { answerWaiter } from './endpoint-lifecycle/waiter-senders.ts';
import { createWaker, settled } from './endpoint-lifecycle/waker.ts';
import { ORCHESTRATORS, parseEventKey } from './keys.ts';

export interface Wakers {
  endpointStateChanged(event: SageMakerEndpointStateChangeEvent): Promise<string[]>;
  maskUploaded(event: S3ObjectCreatedEvent): Promise<string[]>;
}

export function createWakers(deps: Deps): Wakers {
  const jobs = jobStoreOf(deps);
  return {
    endpointStateChanged: createWaker({
      lifecyclesFor: (name) =>
        ORCHESTRATORS.filter((o) => deps.endpointNameFor(o) === name).map((o) => lifecycleFor(deps, o)),
      senders: deps.senders,
      ...(deps.log ? { log: deps.log } : {}),
    }),
    async maskUploaded(event) {
      const parsed = parseEventKey(event.detail.object.key);
      if (!parsed.ok || parsed.value.kind !== 'mask') return ['not a mask upload'];
      const { userId, name } = parsed.value;
      const results = await Promise.allSettled(
        ORCHESTRATORS.map(async (orchestrator) => {
          let woken = 0;
          for (const job of await jobs.jobsWaitingForMask(orchestrator, userId, name)) {
            const waiter = job.maskWaiter;
            if (!waiter) continue;
            const ref = { orchestrator, userId, jobId: job.jobId };
            const sent = await answerWaiter(
              deps.senders,
              {
                ...waiter,
                claim: () => jobs.claimMaskWaiter(ref, waiter.token),
                putBack: () => jobs.setMaskWaiter(ref, waiter),
              },
              (sender) => sender.succeed(waiter.token, { present: true }),
            );
            if (sent !== 'taken') woken++;
          }
          return `${orchestrator}: woke ${woken} job(s)`;
        }),
      );
      return settled(results, `mask waker for ${userId}/${name}`);
    },
  };
}
