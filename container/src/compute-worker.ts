// A worker thread of the compute pool (worker-pool.ts): runs compute() for each task it is sent and
// posts back the result (the PLY's memory transferred, not copied) or the error, named.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { compute, type ComputeInput } from './compute.ts';
import { BadRequest } from './errors.ts';

export interface WorkerTask {
  id: number;
  input: ComputeInput;
}

export type WorkerReply =
  | { id: number; ok: true; output: ReturnType<typeof compute> }
  | { id: number; ok: false; badRequest?: { code: BadRequest['code'] }; message: string };

const port = parentPort;
if (!port) throw new Error('compute-worker.ts runs as a worker thread of the compute pool');

// On Linux a priority set with pid 0 applies to the calling thread only: the computing threads yield
// the cores to the event loop, so /ping and I/O are answered at once however long the queue.
try {
  setPriority(10);
} catch {
  // not permitted here; the pool still works, /ping just competes for the cores
}

port.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  try {
    const output = compute(task.input);
    reply = { id: task.id, ok: true, output };
    port.postMessage(reply, [output.ply.buffer as ArrayBuffer]);
    return;
  } catch (err) {
    reply = {
      id: task.id,
      ok: false,
      ...(err instanceof BadRequest ? { badRequest: { code: err.code } } : {}),
      message: err instanceof Error ? err.message : String(err),
    };
  }
  port.postMessage(reply);
});
