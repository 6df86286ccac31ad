// `dvs check`: the invariant checker (check/) against the target: reads the table, both orchestrators'
// executions and histories and both endpoints through the AWS APIs, then prints each violation with the
// job, the execution and what to do, or that every invariant holds. Exit 1 when anything is violated.
import { checkInvariants, INVARIANTS, type Violation } from '../check/invariants.ts';
import { readSnapshot, type Snapshot } from '../check/snapshot.ts';
import { EXIT, TargetUnreachableError } from './exit.ts';
import type { CliIo } from './io.ts';
import type { CheckOptions } from './options.ts';
import { resolveTarget, whenUnreachable, type ResolveHooks } from './targets.ts';

/** What was looked at: the table's jobs, each orchestrator's executions, the endpoints. */
export function counted(s: Snapshot): { jobs: number; executions: number; endpoints: number } {
  return {
    jobs: s.items.filter((i) => typeof i.sk === 'string' && /^(sf|ldf)#job#/.test(i.sk)).length,
    executions: s.executions.length,
    endpoints: s.endpoints.length,
  };
}

/** The violations as text, grouped by invariant: each with its job, execution, problem and fix. */
export function formatViolations(violations: readonly Violation[]): string {
  const lines: string[] = [];
  for (const [invariant, holds] of Object.entries(INVARIANTS)) {
    const found = violations.filter((v) => v.invariant === invariant);
    if (found.length === 0) continue;
    lines.push(`${invariant}: ${holds} (${found.length} violation${found.length === 1 ? '' : 's'})`);
    for (const v of found) {
      const who = v.job
        ? `${v.orchestrator ?? '?'} job ${v.job.jobId} of user ${v.job.userId}${v.job.name ? ` (${v.job.name})` : ''}${v.job.status ? `, ${v.job.status}` : ''}`
        : `${v.orchestrator ?? '?'}${v.endpoint ? ` endpoint ${v.endpoint}` : ''}`;
      lines.push(`  - ${who}`);
      if (v.execution) lines.push(`    execution: ${v.execution}`);
      if (v.job && v.endpoint) lines.push(`    endpoint:  ${v.endpoint}`);
      lines.push(`    problem:   ${v.problem}`);
      lines.push(`    fix:       ${v.fix}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export async function checkAction(
  options: CheckOptions,
  io: CliIo,
  hooks: ResolveHooks = {},
): Promise<number> {
  const target = await resolveTarget(options.target, hooks);
  try {
    let snapshot: Snapshot;
    try {
      snapshot = await readSnapshot(target, (text) => io.progress.phase(text));
    } catch (e) {
      throw unreachable(e, target);
    }
    const violations = checkInvariants(snapshot, { marginMs: options.marginSeconds * 1000 });
    const seen = counted(snapshot);
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({
          table: target.tableName,
          checked: seen,
          invariants: INVARIANTS,
          violations,
        })}\n`,
      );
    } else {
      const over = `${seen.jobs} job(s), ${seen.executions} execution(s) and ${seen.endpoints} endpoints in ${target.tableName}`;
      io.stdout.write(
        violations.length === 0
          ? `no violations: all ${Object.keys(INVARIANTS).length} invariants hold over ${over}\n`
          : `${violations.length} violation(s) over ${over}\n\n${formatViolations(violations)}`,
      );
    }
    return violations.length === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    await target.close();
  }
}

/** A service that did not answer (the local cloud is gone), or an app not deployed there, as exit 4. */
function unreachable(e: unknown, target: Parameters<typeof whenUnreachable>[1]): unknown {
  // The first read is the table's: a local cloud that is gone fails there.
  const mapped = whenUnreachable(e, target, 'dynamodb');
  if (mapped !== e) return mapped;
  const err = e as Error;
  if (/ResourceNotFound|StateMachineDoesNotExist/.test(err.name ?? ''))
    return new TargetUnreachableError(
      `the target has no deployed app (${err.name}: ${err.message}): start the local cloud with the app (\`npm run up -- --json > cloud.json\`), or deploy the stack`,
    );
  return e;
}
