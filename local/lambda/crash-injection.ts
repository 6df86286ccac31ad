// Crashes armed on purpose (`LocalLambda.injectCrash`): a durable step's result checkpoint dropped with
// its sandbox, or a plain invocation killed after its handler ran; and how many have struck.
export type CrashSpec =
  | { functionName: string; stepName: string; times?: number }
  | { functionName: string; when: (event: unknown) => boolean; times?: number };

export class CrashInjection {
  /** Step crashes left, by `function\nstep`. */
  private readonly steps = new Map<string, number>();
  /** Plain invocations to kill once their handler has run. */
  private readonly plain: { functionName: string; when: (event: unknown) => boolean; times: number }[] = [];
  private taken = 0;

  arm(spec: CrashSpec): void {
    if ('stepName' in spec) {
      this.steps.set(`${spec.functionName}\n${spec.stepName}`, spec.times ?? 1);
    } else {
      this.plain.push({ functionName: spec.functionName, when: spec.when, times: spec.times ?? 1 });
    }
  }

  /** True (and one fewer left) when a crash is armed for this step of this function. */
  takeStep(functionName: string, stepName: string): boolean {
    const key = `${functionName}\n${stepName}`;
    const left = this.steps.get(key) ?? 0;
    if (left <= 0) return false;
    this.steps.set(key, left - 1);
    this.taken++;
    return true;
  }

  /** True (and one fewer left) when a crash is armed for this plain invocation's event. */
  takePlain(functionName: string, event: unknown): boolean {
    const crash = this.plain.find((c) => c.functionName === functionName && c.times > 0 && c.when(event));
    if (!crash) return false;
    crash.times--;
    this.taken++;
    return true;
  }

  /** How many injected crashes have killed an invocation so far. */
  count(): number {
    return this.taken;
  }
}
