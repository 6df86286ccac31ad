// Lambda's errors as the REST-JSON clients read them: the name in `x-amzn-errortype`, the message in
// the body (`message` or `Message`, as the model spells it per error), a `Type` of User or Service.

export class LambdaError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly type: 'User' | 'Service' = status >= 500 ? 'Service' : 'User',
  ) {
    super(message);
    this.name = code;
  }

  /** The JSON body; both spellings of the message so every client model finds it. */
  body(): Record<string, unknown> {
    return { Type: this.type, message: this.message, Message: this.message };
  }
}

export const invalidParameter = (message: string): LambdaError =>
  new LambdaError('InvalidParameterValueException', 400, message);

export const notFound = (message: string): LambdaError =>
  new LambdaError('ResourceNotFoundException', 404, message);

export const callbackClosed = (): LambdaError =>
  new LambdaError(
    'CallbackTimeoutException',
    400,
    'The callback ID token has either expired or the callback associated with the token has already been closed.',
  );

export const alreadyStarted = (name: string): LambdaError =>
  new LambdaError(
    'DurableExecutionAlreadyStartedException',
    409,
    `Durable execution with name ${name} already exists with a different input.`,
  );

export const requestTooLarge = (message: string): LambdaError =>
  new LambdaError('RequestTooLargeException', 413, message);

export const serviceError = (message: string): LambdaError =>
  new LambdaError('ServiceException', 500, message);
