// Execution environments for one function: worker threads, each with the function's own
// environment variables and module state, each running one invocation at a time, reused while warm,
// as Lambda reuses its sandboxes. Killing one (a crash, a timeout) loses only the invocation it runs.
import { Worker } from 'node:worker_threads';
import { WorkMark, type Clock } from '../common/clock.ts';
import { registerCaller, trackedServerPorts } from '../common/http-server.ts';

export interface SandboxSetup {
  entry: string;
  exportName: string;
}

/**
 * What a worker is started with: its module, the clock's shared mapping its `Date` reads, and the
 * ports of the local servers that track their requests (its requests to those carry its caller id).
 */
export interface WorkerSetup extends SandboxSetup {
  clock: SharedArrayBuffer;
  trackedPorts: number[];
}

export interface InvocationContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: number;
  timeoutMs: number;
}

/** One invocation: its event, its context, and the caller id its requests to tracked servers carry. */
export type SandboxRequest = { event: unknown; context: InvocationContext; callerId?: string };

export interface FunctionErrorObject {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type SandboxReply =
  | { kind: 'ready'; durable: boolean }
  | { kind: 'init-error'; error: FunctionErrorObject }
  | { kind: 'result'; ok: true; payload: string }
  | { kind: 'result'; ok: false; error: FunctionErrorObject };

/** What one invocation gave: the JSON of the handler's return value, or its error. */
export type InvocationOutcome = { ok: true; payload: string } | { ok: false; error: FunctionErrorObject };

/** A running invocation, so the service can kill its sandbox (crash injection). */
export interface RunningInvocation {
  kill(reason: string): void;
}

// tsx's loader hooks are registered inside each worker before the TypeScript entry is imported.
const TSX_API = import.meta.resolve('tsx/esm/api');
const WORKER = new URL('./sandbox-worker.ts', import.meta.url).href;
const BOOTSTRAP = `import(${JSON.stringify(TSX_API)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER)}); });`;

class Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<boolean>;
  private settle: ((outcome: InvocationOutcome) => void) | undefined;
  private rejectReady: ((err: Error) => void) | undefined;
  dead = false;

  constructor(
    setup: WorkerSetup,
    environment: Record<string, string>,
    private readonly onExit: () => void,
    output?: (text: string) => void,
  ) {
    // Without `output` the function writes to this process's stdout and stderr, as a console would.
    this.worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: setup,
      env: { ...environment },
      ...(output ? { stdout: true, stderr: true } : {}),
    });
    if (output) {
      this.worker.stdout.on('data', (chunk: Buffer) => output(chunk.toString()));
      this.worker.stderr.on('data', (chunk: Buffer) => output(chunk.toString()));
    }
    this.ready = new Promise((resolve, reject) => {
      this.rejectReady = reject;
      this.worker.on('message', (reply: SandboxReply) => {
        if (reply.kind === 'ready') resolve(reply.durable);
        else if (reply.kind === 'init-error')
          this.kill(`${reply.error.errorType}: ${reply.error.errorMessage}`);
        else {
          const settle = this.settle;
          this.settle = undefined;
          settle?.(reply.ok ? { ok: true, payload: reply.payload } : { ok: false, error: reply.error });
        }
      });
      this.worker.on('error', (err) => this.die(`${err.name}: ${err.message}`));
      this.worker.on('exit', (code) => this.die(`the runtime exited with status ${code}`));
    });
    this.ready.catch(() => undefined);
  }

  /**
   * Runs one invocation; `mark` (its work in flight) is set aside while a tracked local server answers
   * one of its requests (they carry its caller id).
   */
  run(request: SandboxRequest, mark: WorkMark): Promise<InvocationOutcome> {
    const caller = registerCaller(mark);
    return new Promise<InvocationOutcome>((resolve) => {
      this.settle = resolve;
      this.worker.postMessage({ ...request, callerId: caller.id } satisfies SandboxRequest);
    }).finally(() => caller.unregister());
  }

  /** Terminates the worker: its invocation (if any) ends with `reason`. */
  kill(reason: string): void {
    if (this.die(reason)) void this.worker.terminate();
  }

  /** Marks the sandbox dead once; false when it already was. */
  private die(reason: string): boolean {
    if (this.dead) return false;
    this.dead = true;
    this.rejectReady?.(new Error(reason));
    this.settle?.({ ok: false, error: { errorType: 'Runtime.ExitError', errorMessage: reason } });
    this.settle = undefined;
    this.onExit();
    return true;
  }
}

export class FunctionSandboxes {
  private readonly idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
  private readonly queue: (() => void)[] = [];
  private busy = 0;
  private stopped = false;
  /** Sandboxes started (cold starts), for the counters. */
  coldStarts = 0;

  private readonly setup: Omit<WorkerSetup, 'trackedPorts'>;

  constructor(
    setup: SandboxSetup,
    private readonly environment: Record<string, string>,
    private readonly maxConcurrency: number,
    /** Every invocation is work in flight on it, and each sandbox's `Date` reads it. */
    private readonly clock: Clock,
    /** Where the function's console output goes (a function's log group, locally). */
    private readonly output?: (text: string) => void,
  ) {
    this.setup = { ...setup, clock: clock.shared };
  }

  /** Loads the module once in a fresh sandbox, kept warm; says whether its export is durable. */
  async probe(): Promise<boolean> {
    const sandbox = this.start();
    try {
      const durable = await sandbox.ready;
      this.idle.push(sandbox);
      return durable;
    } catch (err) {
      sandbox.kill('probe failed');
      throw err;
    }
  }

  /** Runs one invocation in a warm or new sandbox; `onStart` receives a handle that can kill it. */
  invoke(
    request: SandboxRequest,
    onStart?: (running: RunningInvocation) => void,
  ): Promise<InvocationOutcome> {
    const mark = new WorkMark(this.clock);
    return this.invokePooled(request, mark, onStart).finally(() => mark.end());
  }

  private async invokePooled(
    request: SandboxRequest,
    mark: WorkMark,
    onStart?: (running: RunningInvocation) => void,
  ): Promise<InvocationOutcome> {
    // Waiting for a sandbox is waiting on other work the clock sees (the invocations that hold them,
    // or the modelled timers those wait on): aside, or a backlog behind a modelled inference would
    // keep a skip clock from ever jumping.
    if (this.busy >= this.maxConcurrency)
      await mark.awaitAside(new Promise<void>((resolve) => this.queue.push(resolve)));
    // Stopped meanwhile: a sandbox started now would outlive the service (and keep Node running).
    if (this.stopped) return STOPPED;
    this.busy++;
    let sandbox: Sandbox | undefined;
    try {
      sandbox = this.idle.pop() ?? this.start();
      return await runIn(sandbox, request, mark, onStart);
    } finally {
      if (sandbox && !sandbox.dead) this.idle.push(sandbox);
      this.busy--;
      this.queue.shift()?.();
    }
  }

  /**
   * Runs one invocation in a sandbox started for it alone and ended after it: a cold start with fresh
   * module state that no pooled invocation shares or counts (a replay's).
   */
  invokeIsolated(
    request: SandboxRequest,
    onStart?: (running: RunningInvocation) => void,
  ): Promise<InvocationOutcome> {
    if (this.stopped) return Promise.resolve(STOPPED);
    const sandbox = new Sandbox(this.workerSetup(), this.environment, () => this.all.delete(sandbox));
    this.all.add(sandbox);
    const mark = new WorkMark(this.clock);
    return runIn(sandbox, request, mark, onStart).finally(() => {
      mark.end();
      sandbox.kill('the isolated invocation ended');
    });
  }

  /** Read when a sandbox starts: the servers started since the function was deployed count too. */
  private workerSetup(): WorkerSetup {
    return { ...this.setup, trackedPorts: trackedServerPorts() };
  }

  private start(): Sandbox {
    this.coldStarts++;
    const sandbox = new Sandbox(
      this.workerSetup(),
      this.environment,
      () => {
        this.all.delete(sandbox);
        const at = this.idle.indexOf(sandbox);
        if (at >= 0) this.idle.splice(at, 1);
      },
      this.output,
    );
    this.all.add(sandbox);
    return sandbox;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const next of this.queue.splice(0)) next();
    const sandboxes = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(sandboxes.map((s) => s.worker.terminate()));
  }
}

/** What an invocation gets once the function's sandboxes are stopped (the local Lambda went down). */
const STOPPED: InvocationOutcome = {
  ok: false,
  error: { errorType: 'Runtime.ExitError', errorMessage: 'the local Lambda stopped' },
};

/** Runs one invocation in a sandbox once it is ready, killing it when the invocation times out. */
async function runIn(
  sandbox: Sandbox,
  request: SandboxRequest,
  mark: WorkMark,
  onStart: ((running: RunningInvocation) => void) | undefined,
): Promise<InvocationOutcome> {
  try {
    await sandbox.ready;
  } catch (err) {
    return {
      ok: false,
      error: { errorType: 'Runtime.ImportModuleError', errorMessage: (err as Error).message },
    };
  }
  onStart?.({ kill: (reason) => sandbox.kill(reason) });
  // The function's timeout is its real running time (Lambda bills and limits what the handler runs).
  const timer = setTimeout(
    () => sandbox.kill(`Task timed out after ${(request.context.timeoutMs / 1000).toFixed(2)} seconds`),
    request.context.timeoutMs,
  );
  try {
    return await sandbox.run(request, mark);
  } finally {
    clearTimeout(timer);
  }
}
