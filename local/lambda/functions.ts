// The function registry: what `deploy` creates (a function, its version 1, an optional alias) and how
// a FunctionName as Lambda accepts it (name, name:qualifier, full or partial ARN) resolves to one.
import { invalidParameter, notFound } from './errors.ts';
import type { FunctionSandboxes } from './sandbox.ts';

export interface DurableSettings {
  /** Simulated seconds an execution may run (Lambda: 1 to 31,622,400). */
  executionTimeoutSeconds: number;
  retentionPeriodDays: number;
}

export interface DeployedFunction {
  name: string;
  /** The unqualified function ARN. */
  arn: string;
  entry: string;
  exportName: string;
  /** The published version every qualifier resolves to ('1'); $LATEST runs the same code. */
  version: string;
  alias: string | undefined;
  durable: DurableSettings | undefined;
  timeoutSeconds: number;
  memorySize: number;
  environment: Record<string, string>;
  sandboxes: FunctionSandboxes;
}

export interface ResolvedFunction {
  fn: DeployedFunction;
  /** The qualifier as given (alias, version or $LATEST); undefined when unqualified. */
  qualifier: string | undefined;
  /** The version the qualifier points at. */
  version: string;
}

const NAME = /^[a-zA-Z0-9-_]{1,64}$/;
const ARN = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$.]+))?$/;
const PARTIAL_ARN = /^\d{12}:function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$.]+))?$/;
const NAME_WITH_QUALIFIER = /^([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$.]+))?$/;

export function checkFunctionName(name: string): void {
  if (!NAME.test(name)) {
    throw invalidParameter(
      `Function name '${name}' must be 1 to 64 letters, digits, hyphens or underscores.`,
    );
  }
}

export class FunctionRegistry {
  private readonly functions = new Map<string, DeployedFunction>();

  constructor(
    readonly region: string,
    readonly account: string,
  ) {}

  functionArn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.account}:function:${name}`;
  }

  add(fn: DeployedFunction): void {
    this.functions.set(fn.name, fn);
  }

  get(name: string): DeployedFunction | undefined {
    return this.functions.get(name);
  }

  list(): DeployedFunction[] {
    return [...this.functions.values()];
  }

  /** Resolves a FunctionName (and an optional separate Qualifier) as Lambda's Invoke does. */
  resolve(functionName: string, qualifierParam?: string): ResolvedFunction {
    const match =
      ARN.exec(functionName) ?? PARTIAL_ARN.exec(functionName) ?? NAME_WITH_QUALIFIER.exec(functionName);
    if (!match) throw invalidParameter(`Invalid function name or ARN: '${functionName}'.`);
    const name = match[1]!;
    const inName = match[2];
    if (inName !== undefined && qualifierParam !== undefined && inName !== qualifierParam) {
      throw invalidParameter(
        'The derived qualifier from the function name does not match the specified qualifier.',
      );
    }
    const qualifier = inName ?? qualifierParam;
    const fn = this.functions.get(name);
    if (!fn)
      throw notFound(`Function not found: ${this.functionArn(name)}${qualifier ? `:${qualifier}` : ''}`);
    if (qualifier === undefined || qualifier === '$LATEST') return { fn, qualifier, version: '$LATEST' };
    if (qualifier === fn.version || qualifier === fn.alias) return { fn, qualifier, version: fn.version };
    throw notFound(`Function not found: ${fn.arn}:${qualifier}`);
  }
}
