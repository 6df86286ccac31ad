// Errors as the SageMaker APIs send them: a type name (`__type` on the control plane's JSON 1.1,
// `x-amzn-ErrorType` on the runtime's REST JSON), an HTTP status, and AWS's message text, so the real
// SDK raises the same named exception it raises against AWS.
export class SageMakerApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error shape (ModelError's OriginalStatusCode, ...). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

export const validation = (message: string): SageMakerApiError =>
  new SageMakerApiError('ValidationException', message);

export const throttling = (): SageMakerApiError =>
  new SageMakerApiError('ThrottlingException', 'Rate exceeded');

export const resourceLimitExceeded = (instanceType: string): SageMakerApiError =>
  new SageMakerApiError(
    'ResourceLimitExceeded',
    `The account-level service limit '${instanceType} for endpoint usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota.`,
  );

/** The FailureReason of an endpoint whose instances could not be provisioned. */
export const INSUFFICIENT_CAPACITY_REASON =
  'Unable to provision requested ML compute capacity. Please retry using a different ML instance type.';

/** The FailureReason of an endpoint whose container never answered /ping with 200 in time. */
export const HEALTH_CHECK_REASON = (variant: string): string =>
  `The primary container for production variant ${variant} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`;
