// Operational load, counted from the CDK app itself: the resources each orchestrator needs deployed
// and watched, and the IAM statements they carry, from the synthesized template (synthesized here
// without bundling the functions: the counts do not depend on the code inside them). A resource of
// one orchestrator's own (its function or state machine, their roles, logs, alias, alarms) counts for
// it; the ones both need (bucket, table, model, the waker, the job reconciler, the rules, the dashboard) count for each.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../infra/app.ts';
import { FUNCTIONS, STATE_MACHINE } from '../../infra/app-definition.ts';
import type { OperationalLoad, OrchestratorId } from '../report/results.ts';

interface TemplateResource {
  Type: string;
  Properties?: { PolicyDocument?: { Statement?: unknown[] } };
}

/** What a logical id holds (CDK derives it from the construct path) that makes it one orchestrator's own. */
const squash = (name: string): string => name.replace(/[^A-Za-z0-9]/g, '');
const OWN: Record<OrchestratorId, RegExp> = {
  ldf: new RegExp(`${squash(FUNCTIONS.durable)}|^DurableExecutions|^EndpointLeftRunningldf`),
  sf: new RegExp(
    `^${squash(FUNCTIONS.sfnTasks)}|^${squash(STATE_MACHINE)}|^StateMachineExecutions|^EndpointLeftRunningsf`,
  ),
};

export const FAILED_EXECUTION_DEBUG: Record<OrchestratorId, string> = {
  sf: 'the execution history (every state entered and exited with its input and output, the error a Catch caught) in the console, and the task Lambda logs',
  ldf: 'the durable execution history (each operation, its result or error and retries; each invocation, replays included) and the function logs',
};

export function operationalFromTemplate(template: {
  Resources: Record<string, TemplateResource>;
}): Record<OrchestratorId, OperationalLoad> {
  const counts = { sf: { resources: 0, iamStatements: 0 }, ldf: { resources: 0, iamStatements: 0 } };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::CDK::Metadata') continue;
    const owners = (['sf', 'ldf'] as const).filter((o) => OWN[o].test(id));
    const statements = r.Properties?.PolicyDocument?.Statement?.length ?? 0;
    for (const o of owners.length ? owners : (['sf', 'ldf'] as const)) {
      counts[o].resources++;
      counts[o].iamStatements += statements;
    }
  }
  return {
    sf: { ...counts.sf, failedExecutionDebug: FAILED_EXECUTION_DEBUG.sf },
    ldf: { ...counts.ldf, failedExecutionDebug: FAILED_EXECUTION_DEBUG.ldf },
  };
}

/** Synthesizes the stack (no bundling, no network, a throwaway folder) and counts its load. */
export function synthesizedOperationalLoad(): Record<OrchestratorId, OperationalLoad> {
  const outdir = mkdtempSync(join(tmpdir(), 'dvs-synth-'));
  try {
    const { app, stack } = buildApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const assembly = app.synth();
    const file = assembly.getStackByName(stack.stackName).templateFullPath;
    return operationalFromTemplate(
      JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, TemplateResource> },
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
