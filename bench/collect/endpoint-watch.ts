// The endpoints' lifetimes, watched through DescribeEndpoint while a run goes: SageMaker keeps no
// record of an endpoint once it is deleted, so the collector looks at each orchestrator's endpoint
// every `intervalMs` and notes when each one was created (CreationTime), when it served
// (LastModifiedTime of the first InService answer) and when it was first seen gone. The deletion's
// end is known to within one look; the report states the interval.
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { OrchestratorId } from '../report/results.ts';

/** One generation of an endpoint, in ms since the epoch on the target's clock. */
export interface EndpointLifetime {
  orchestrator: OrchestratorId;
  name: string;
  createdMs: number;
  inServiceMs?: number;
  /** First look that found it gone (or another generation); undefined while it still exists. */
  deletedMs?: number;
  /** The last status seen, and why it failed if it did. */
  lastStatus: string;
  failureReason?: string;
}

const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; message?: string };
  return /Validation/.test(e.name ?? '') && /not found|could not find/i.test(e.message ?? '');
};

export class EndpointWatch {
  private readonly lifetimes: EndpointLifetime[] = [];
  private readonly open = new Map<OrchestratorId, EndpointLifetime>();
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly names: Record<OrchestratorId, string>,
    private readonly now: () => number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.looking = this.lookOnce().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  /** Looks at both endpoints once; a failed look (other than "not found") is skipped, not fatal. */
  async lookOnce(): Promise<void> {
    await Promise.all(
      (Object.keys(this.names) as OrchestratorId[]).map(async (o) => {
        const at = this.now();
        try {
          const d = await this.sagemaker.send(new DescribeEndpointCommand({ EndpointName: this.names[o] }));
          const created = d.CreationTime?.getTime() ?? at;
          let current = this.open.get(o);
          if (current && current.createdMs !== created) {
            current.deletedMs = Math.min(at, created);
            current = undefined;
          }
          if (!current) {
            current = { orchestrator: o, name: this.names[o], createdMs: created, lastStatus: '' };
            this.open.set(o, current);
            this.lifetimes.push(current);
          }
          current.lastStatus = d.EndpointStatus ?? '';
          if (d.FailureReason) current.failureReason = d.FailureReason;
          if (d.EndpointStatus === 'InService' && current.inServiceMs === undefined)
            current.inServiceMs = d.LastModifiedTime?.getTime() ?? at;
        } catch (err) {
          if (!isMissing(err)) return;
          const current = this.open.get(o);
          if (current) {
            current.deletedMs = at;
            this.open.delete(o);
          }
        }
      }),
    );
  }

  /** Stops watching (after one last look) and returns every lifetime seen, oldest first. */
  async stop(): Promise<EndpointLifetime[]> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.looking;
    await this.lookOnce();
    return [...this.lifetimes].sort((a, b) => a.createdMs - b.createdMs);
  }
}
