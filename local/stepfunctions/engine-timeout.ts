// The engine's States.Timeout error class, which the service's own Task timeouts and lost heartbeats
// (on the time scale) must be instances of.
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

/**
 * The engine's own States.Timeout class: a Task error is exempt from `States.TaskFailed` only when it
 * is an instance of it, so the service's timeouts (on the time scale) must be too. The class is not
 * exported; one 1 ms engine timeout yields it.
 */
const EngineTimeoutError = await (async () => {
  const probe = new StateMachine(
    {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: 'arn:aws:states:::local:probe', TimeoutSeconds: 0.001, End: true },
      },
    },
    { validationOptions: { noValidate: true } },
  );
  const run = probe.run(
    {},
    { overrides: { taskResourceLocalHandlers: { T: () => new Promise<never>(() => undefined) } } },
  );
  try {
    await run.result;
  } catch (err) {
    if (err instanceof ExecutionError && err.cause instanceof Error)
      return err.cause.constructor as new () => Error;
  }
  throw new Error(
    'aws-local-stepfunctions did not time out its probe Task; the local service cannot time Tasks out',
  );
})();

export function isTimeout(error: unknown): boolean {
  return error instanceof EngineTimeoutError;
}

export function timeoutError(name: 'States.Timeout' | 'States.HeartbeatTimeout'): Error {
  const error = new EngineTimeoutError();
  error.name = name;
  error.message = '';
  return error;
}
