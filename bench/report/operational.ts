// Operational load per orchestrator: what the results say (resources, IAM statements, what a failed
// execution leaves to debug, counted elsewhere), and the lines of orchestration code, counted here
// from the repo's files when the results do not give them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OperationalLoad, OrchestratorId, Results } from './results.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The files that are each orchestrator's own orchestration (the shared activities are common to both). */
export const ORCHESTRATION_FILES: Record<OrchestratorId, string[]> = {
  sf: [
    'orchestrators/stepfunctions/state-machine.asl.json',
    'orchestrators/stepfunctions/tasks.ts',
    'orchestrators/stepfunctions/settings.ts',
    'orchestrators/stepfunctions/definition.ts',
    'orchestrators/stepfunctions/handler.ts',
  ],
  ldf: [
    'orchestrators/durable/workflow.ts',
    'orchestrators/durable/retry.ts',
    'orchestrators/durable/failures.ts',
    'orchestrators/durable/handler.ts',
  ],
};

/** Lines that are neither blank nor only a comment (`//`, `/*`, ` *`). */
export function codeLines(text: string): number {
  return text.split('\n').filter((line) => {
    const t = line.trim();
    return t !== '' && !t.startsWith('//') && !t.startsWith('/*') && !t.startsWith('*');
  }).length;
}

export interface OperationalView extends OperationalLoad {
  /** Where orchestrationLines came from. */
  linesSource: 'results' | 'repo' | 'missing';
}

/** Each orchestrator's load, the lines counted from `root` when the results lack them. */
export function operationalLoad(results: Results, root = REPO_ROOT): Record<OrchestratorId, OperationalView> {
  const out = {} as Record<OrchestratorId, OperationalView>;
  for (const o of ['sf', 'ldf'] as const) {
    const given = results.operational?.[o] ?? {};
    if (given.orchestrationLines !== undefined) {
      out[o] = { ...given, linesSource: 'results' };
      continue;
    }
    const files = ORCHESTRATION_FILES[o].map((f) => `${root}/${f}`);
    out[o] = files.every((f) => existsSync(f))
      ? {
          ...given,
          orchestrationLines: files.reduce((n, f) => n + codeLines(readFileSync(f, 'utf8')), 0),
          linesSource: 'repo',
        }
      : { ...given, linesSource: 'missing' };
  }
  return out;
}
