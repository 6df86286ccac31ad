// Errors as the Step Functions API sends them (awsJson1_0): `__type` in the body (the AWS CLI reads
// only that), an HTTP status, and AWS's message text, so the SDK raises the same named exception.
export class SfnApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const invalidDefinition = (detail: string): SfnApiError =>
  new SfnApiError('InvalidDefinition', `Invalid State Machine Definition: '${detail}'`);
export const invalidArn = (arn: unknown): SfnApiError =>
  new SfnApiError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
export const stateMachineDoesNotExist = (arn: string): SfnApiError =>
  new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
export const stateMachineAlreadyExists = (arn: string): SfnApiError =>
  new SfnApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
export const executionDoesNotExist = (arn: string): SfnApiError =>
  new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
export const executionAlreadyExists = (arn: string): SfnApiError =>
  new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
export const validationError = (message: string): SfnApiError =>
  new SfnApiError('ValidationException', message);
export const invalidToken = (message = 'Invalid token'): SfnApiError =>
  new SfnApiError('InvalidToken', `Invalid Token: '${message}'`);

/**
 * An error a Task (or the local service itself) raises inside an execution. `name` is what `Retry`
 * and `Catch` match (`States.TaskFailed`, `DynamoDB.ConditionalCheckFailedException`, ...); the
 * engine reads `isRetryable`/`isCatchable` as it does for its own runtime errors.
 */
export class TaskError extends Error {
  constructor(
    name: string,
    message: string,
    private readonly handleable = true,
  ) {
    super(message);
    this.name = name;
  }
  get isRetryable(): boolean {
    return this.handleable;
  }
  get isCatchable(): boolean {
    return this.handleable;
  }
}

/** `States.Runtime`: fails the execution; neither `Retry` nor `Catch` can match it, as on AWS. */
export const statesRuntime = (message: string): TaskError => new TaskError('States.Runtime', message, false);
