// The three SageMaker calls the lifecycle makes, with AWS's answers folded into what they mean for
// the protocol: "already exists" is a join, "could not find" is a missing endpoint, throttling and
// capacity limits and calls SageMaker did not answer become the named, retryable domain errors both
// orchestrators retry on.
import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type EndpointStatus,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { CapacityError, isTransientAwsError, ServiceUnavailableError, ThrottledError } from '../errors.ts';

export type SageMakerState =
  { status: 'missing' } | { status: EndpointStatus; failureReason?: string; createdAt?: number };

export interface EndpointControl {
  /** 'exists' when an endpoint of that name is already there (in any status). */
  create(name: string, configName: string): Promise<'created' | 'exists'>;
  describe(name: string): Promise<SageMakerState>;
  /** 'busy' when SageMaker refuses because the endpoint is in a transition. */
  delete(name: string): Promise<'deleting' | 'missing' | 'busy'>;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Maps errors every call shares; returns the error's message for the call-specific cases. */
function fold(err: unknown, call: string): string {
  const e = err as { name?: string; message?: string };
  if (e.name !== undefined && THROTTLING.has(e.name)) {
    throw new ThrottledError(`SageMaker throttled ${call}: ${e.message}`, { cause: err });
  }
  if (isTransientAwsError(err)) {
    throw new ServiceUnavailableError(`SageMaker did not answer ${call}: ${e.name}: ${e.message}`, {
      cause: err,
    });
  }
  if (e.name === 'ResourceLimitExceeded') {
    throw new CapacityError(`SageMaker refused ${call} for capacity: ${e.message}`, { cause: err });
  }
  if (e.name !== 'ValidationException') throw err;
  return e.message ?? '';
}

export function sageMakerControl(client: SageMakerClient): EndpointControl {
  return {
    async create(name, configName) {
      try {
        await client.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: configName }));
        return 'created';
      } catch (err) {
        if (/already existing endpoint/i.test(fold(err, 'CreateEndpoint'))) return 'exists';
        throw err;
      }
    },
    async describe(name) {
      try {
        const out = await client.send(new DescribeEndpointCommand({ EndpointName: name }));
        return {
          status: out.EndpointStatus ?? 'OutOfService',
          ...(out.FailureReason ? { failureReason: out.FailureReason } : {}),
          ...(out.CreationTime ? { createdAt: out.CreationTime.getTime() } : {}),
        };
      } catch (err) {
        if (/could not find endpoint/i.test(fold(err, 'DescribeEndpoint'))) return { status: 'missing' };
        throw err;
      }
    },
    async delete(name) {
      try {
        await client.send(new DeleteEndpointCommand({ EndpointName: name }));
        return 'deleting';
      } catch (err) {
        const message = fold(err, 'DeleteEndpoint');
        if (/could not find endpoint/i.test(message)) return 'missing';
        if (/in-progress|cannot delete/i.test(message)) return 'busy';
        throw err;
      }
    },
  };
}
