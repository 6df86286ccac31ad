// CloudWatch's errors as its API names them. The service is "query compatible": the JSON and CBOR
// protocols carry the shape name in `__type` and the old query code in `x-amzn-query-error`.

export class CloudWatchError extends Error {
  constructor(
    /** The error shape's name, e.g. `InvalidParameterValueException`. */
    readonly type: string,
    /** The query protocol's code, e.g. `InvalidParameterValue`. */
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = type;
  }

  static invalid(message: string): CloudWatchError {
    return new CloudWatchError('InvalidParameterValueException', 'InvalidParameterValue', 400, message);
  }

  static missing(member: string): CloudWatchError {
    return new CloudWatchError(
      'MissingRequiredParameterException',
      'MissingParameter',
      400,
      `The parameter ${member} is required.`,
    );
  }

  static combination(message: string): CloudWatchError {
    return new CloudWatchError(
      'InvalidParameterCombinationException',
      'InvalidParameterCombination',
      400,
      message,
    );
  }

  static dashboardNotFound(name: string): CloudWatchError {
    return new CloudWatchError(
      'DashboardNotFoundError',
      'ResourceNotFound',
      404,
      `Dashboard ${name} does not exist`,
    );
  }

  static dashboardInvalid(message: string): CloudWatchError {
    return new CloudWatchError('DashboardInvalidInputError', 'InvalidParameterInput', 400, message);
  }

  static unknownOperation(operation: string): CloudWatchError {
    return new CloudWatchError(
      'UnknownOperationException',
      'UnknownOperation',
      400,
      `Unknown operation ${operation}`,
    );
  }

  static serialization(message: string): CloudWatchError {
    return new CloudWatchError('SerializationException', 'SerializationException', 400, message);
  }
}
