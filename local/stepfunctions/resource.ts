// A Task's `Resource` read the way Step Functions reads it: which service and action, whether it is
// an optimized or an `aws-sdk:` integration or a plain Lambda function ARN, the integration pattern,
// and the `resourceType`/`resource` pair its history events carry.

export interface TaskResource {
  arn: string;
  /** `lambda-function`: a plain Lambda ARN; `integration`: `arn:aws:states:::...`. */
  kind: 'lambda-function' | 'integration';
  /** The service as the ARN names it (`lambda`, `dynamodb`, `events`, `sagemaker`, ...). */
  service: string;
  /** The API action (`invoke`, `putItem`, `describeEndpoint`); for a Lambda ARN, its function name. */
  action: string;
  /** True for `arn:aws:states:::aws-sdk:<service>:<action>`. */
  sdk: boolean;
  pattern: 'request-response' | 'waitForTaskToken' | 'sync';
  /** What TaskScheduled/TaskStarted/... record as `resourceType` and `resource`. */
  resourceType: string;
  resource: string;
}

const INTEGRATION =
  /^arn:aws:states:::(aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)(\.waitForTaskToken|\.sync(?::\d+)?)?$/;
const LAMBDA_FUNCTION = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;

/** Parses a Task's resource; undefined when it is neither an integration nor a Lambda ARN. */
export function parseTaskResource(arn: string): TaskResource | undefined {
  if (LAMBDA_FUNCTION.test(arn)) {
    return {
      arn,
      kind: 'lambda-function',
      service: 'lambda',
      action: arn.split(':')[6] ?? '',
      sdk: false,
      pattern: 'request-response',
      resourceType: 'lambda',
      resource: arn,
    };
  }
  const match = INTEGRATION.exec(arn);
  if (!match) return undefined;
  const [, sdkPrefix, service = '', action = '', suffix] = match;
  const sdk = sdkPrefix !== undefined;
  return {
    arn,
    kind: 'integration',
    service,
    action,
    sdk,
    pattern: suffix === '.waitForTaskToken' ? 'waitForTaskToken' : suffix ? 'sync' : 'request-response',
    resourceType: sdk ? `aws-sdk:${service}` : service,
    resource: `${action}${suffix ?? ''}`,
  };
}
