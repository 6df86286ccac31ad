import { describe, expect, it } from 'vitest';
import { synthesizedOperationalLoad } from './operational.ts';

describe('operational load from the synthesized stack', () => {
  it("counts each orchestrator's own resources and the shared ones once for each", () => {
    const load = synthesizedOperationalLoad();
    // 51 resources besides CDK's metadata: the durable function's 10 of its own (function, role,
    // policies, logs, version, alias, the rule's permission, 2 alarms), Step Functions' 13, 28 shared
    // (the job reconciler's 9 among them: function, role, 2 policies, logs, 2 rules, 2 permissions).
    expect(load.ldf.resources).toBe(10 + 28);
    expect(load.sf.resources).toBe(13 + 28);
    expect(load.sf.iamStatements).toBeGreaterThan(load.ldf.iamStatements!);
    expect(load.ldf.failedExecutionDebug).toMatch(/durable execution history/);
  }, 60_000);
});
