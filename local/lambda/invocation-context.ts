// The Lambda context object an invocation's handler receives.
import { randomUUID } from 'node:crypto';
import type { DeployedFunction } from './functions.ts';

export function invocationContext(fn: DeployedFunction, invokedFunctionArn: string, version: string) {
  return {
    awsRequestId: randomUUID(),
    functionName: fn.name,
    functionVersion: version,
    invokedFunctionArn,
    memoryLimitInMB: fn.memorySize,
    // Handler code runs at machine speed, so an invocation's own clock (its timeout and
    // getRemainingTimeInMillis) is not scaled; only the durable timers between invocations are.
    timeoutMs: fn.timeoutSeconds * 1000,
  };
}
