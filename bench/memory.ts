// Memory the benchmarks report, read one way: resident set sizes from /proc (Linux), and a sampler
// that keeps the peak of several processes while a measurement runs.
import { readFileSync } from 'node:fs';

/** Resident set size of a process in MiB, from /proc (Linux); NaN where it cannot be read. */
export function rssMiB(pid: number | 'self'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return line ? Number(line[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface PeakRss {
  /** Peak RSS in MiB of each named process since start (NaN if never readable). */
  stop(): Record<string, number>;
}

/** Samples the RSS of the named processes every `everyMs` and keeps each one's peak. */
export function samplePeakRss(processes: Record<string, number | 'self'>, everyMs = 100): PeakRss {
  const peaks: Record<string, number> = Object.fromEntries(Object.keys(processes).map((k) => [k, NaN]));
  const sample = (): void => {
    for (const [name, pid] of Object.entries(processes)) {
      const rss = rssMiB(pid);
      if (!Number.isNaN(rss)) peaks[name] = Number.isNaN(peaks[name]!) ? rss : Math.max(peaks[name]!, rss);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { ...peaks };
    },
  };
}
