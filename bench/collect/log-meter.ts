// What the functions wrote to their logs, by orchestrator: the bytes CloudWatch Logs would ingest and
// the EMF metric values among them (each value of each metric of each `_aws` line). The local cloud
// hands every line of a function's output here (LocalCloudOptions.functionOutput).
import type { OrchestratorId } from '../report/results.ts';

export interface LogTotals {
  logBytes: number;
  metricValues: number;
}

/** EMF metric values in one log line (0 for a line that is not EMF). */
export function emfValues(line: string): number {
  if (!line.includes('"_aws"')) return 0;
  try {
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws?: { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] };
    };
    let n = 0;
    for (const group of doc._aws?.CloudWatchMetrics ?? [])
      for (const m of group.Metrics ?? []) {
        const v = doc[m.Name];
        n += Array.isArray(v) ? v.length : v === undefined ? 0 : 1;
      }
    return n;
  } catch {
    return 0;
  }
}

export class LogMeter {
  private readonly totals: Record<OrchestratorId, LogTotals> = {
    sf: { logBytes: 0, metricValues: 0 },
    ldf: { logBytes: 0, metricValues: 0 },
  };

  /** `owner` maps a function name to the orchestrator whose bill its logs are (undefined: neither). */
  constructor(private readonly owner: (functionName: string) => OrchestratorId | undefined) {}

  /** The local cloud's functionOutput hook. */
  readonly write = (functionName: string, text: string): void => {
    const o = this.owner(functionName);
    if (!o) return;
    this.totals[o].logBytes += Buffer.byteLength(text);
    for (const line of text.split('\n')) this.totals[o].metricValues += emfValues(line);
  };

  of(o: OrchestratorId): LogTotals {
    return { ...this.totals[o] };
  }
}
