// A fixed pool of worker threads for the CPU work of generate_3d, one per core by default, with a
// bounded queue in front: a task waits its turn, and when the queue is full the caller is told at
// once (the server answers 429, as SageMaker's own model server does) instead of piling up memory.
// A worker that dies is replaced, and the task it held fails with an internal error.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ComputeInput, ComputeOutput } from './compute.ts';
import type { WorkerReply, WorkerTask } from './compute-worker.ts';
import { BadRequest } from './errors.ts';

export class PoolFull extends Error {
  override readonly name = 'PoolFull';
}

export interface WorkerPoolOptions {
  /** Worker threads (default: the machine's cores). */
  workers?: number;
  /** Tasks that may wait for a worker; one more is refused with PoolFull. */
  maxQueued: number;
}

interface Pending {
  task: WorkerTask;
  resolve: (output: ComputeOutput) => void;
  reject: (err: Error) => void;
}

// From the sources (tsx) the worker is the .ts file and needs tsx's loader; the bundle
// (container/build.cli.ts) ships it as compute-worker.mjs beside server.mjs.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './compute-worker.ts' : './compute-worker.mjs', import.meta.url);
const WORKER_EXEC_ARGV =
  FROM_SOURCE && !process.execArgv.some((a) => a.includes('tsx'))
    ? [...process.execArgv, '--import', 'tsx']
    : process.execArgv;

export class WorkerPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private readonly online = new WeakSet<Worker>();
  private nextId = 1;
  private closed = false;
  /** Set when a worker cannot even start (a missing file): respawning would only fail again. */
  private broken: Error | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, options.workers ?? availableParallelism());
    for (let i = 0; i < this.size; i++) this.idle.push(this.spawn());
  }

  /** Tasks running plus tasks waiting. */
  get load(): number {
    return this.busy.size + this.queue.length;
  }

  /** Whether one more task would be refused. */
  get full(): boolean {
    return this.idle.length === 0 && this.queue.length >= this.options.maxQueued;
  }

  run(input: ComputeInput): Promise<ComputeOutput> {
    if (this.closed) return Promise.reject(new Error('the compute pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (this.full)
      return Promise.reject(
        new PoolFull(`all ${this.size} workers are busy and ${this.queue.length} tasks wait`),
      );
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { id: this.nextId++, input }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('the compute pool is closed'));
    await Promise.all([...this.idle, ...this.busy.keys()].map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const pending = this.queue.shift()!;
      this.busy.set(worker, pending);
      worker.ref(); // a task in flight keeps the process alive; an idle pool does not
      worker.postMessage(pending.task);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL, { execArgv: WORKER_EXEC_ARGV });
    worker.once('online', () => this.online.add(worker));
    worker.on('message', (reply: WorkerReply) => {
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      this.idle.push(worker);
      worker.unref();
      if (pending) {
        if (reply.ok) pending.resolve(reply.output);
        else if (reply.badRequest) pending.reject(new BadRequest(reply.badRequest.code, reply.message));
        else pending.reject(new Error(reply.message));
      }
      this.dispatch();
    });
    worker.on('error', (err) => this.replace(worker, err));
    worker.on('exit', (code) => this.replace(worker, new Error(`a compute worker exited with code ${code}`)));
    worker.unref();
    return worker;
  }

  private replace(worker: Worker, err: Error): void {
    const pending = this.busy.get(worker);
    const wasIdle = this.idle.indexOf(worker);
    if (!pending && wasIdle < 0) return; // already replaced
    this.busy.delete(worker);
    if (wasIdle >= 0) this.idle.splice(wasIdle, 1);
    pending?.reject(err);
    if (this.closed) return;
    if (!this.online.has(worker)) {
      this.broken = new Error(`a compute worker could not start: ${err.message}`);
      for (const waiting of this.queue.splice(0)) waiting.reject(this.broken);
      return;
    }
    this.idle.push(this.spawn());
    this.dispatch();
  }
}
