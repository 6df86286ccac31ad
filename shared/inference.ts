// One InvokeEndpoint of the reconstruction, with SageMaker's and the model server's answers mapped to
// the shared error names: throttling and not-ready retry (the workflow's backoff), bad input and
// model faults end the job. The payload carries S3 references; the container reads the inputs and
// writes the PLY itself.
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  EndpointNotReadyError,
  InferenceError,
  InferenceInputError,
  isTransientAwsError,
  ServiceUnavailableError,
  ThrottledError,
} from './errors.ts';

export interface Generate3dRequest {
  bucket: string;
  imageKey: string;
  maskKey: string;
  outputKey: string;
}

/** What the model server returns for a reconstruction (container/README.md). */
export interface Generate3dResult {
  status: 'success';
  output_s3_key: string;
  mesh_stats: Record<string, unknown>;
  timings_ms: Record<string, number>;
}

const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException']);

export async function invokeGenerate3d(
  runtime: SageMakerRuntimeClient,
  endpointName: string,
  request: Generate3dRequest,
): Promise<Generate3dResult> {
  let body: Uint8Array | undefined;
  try {
    const out = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: endpointName,
        ContentType: 'application/json',
        Accept: 'application/json',
        Body: new TextEncoder().encode(
          JSON.stringify({
            task: 'generate_3d',
            bucket: request.bucket,
            image_s3_key: request.imageKey,
            mask_s3_key: request.maskKey,
            output_s3_key: request.outputKey,
          }),
        ),
      }),
    );
    body = out.Body;
  } catch (err) {
    throw mapInvokeError(err, endpointName);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()));
  } catch {
    throw new InferenceError(`endpoint ${endpointName} answered with a body that is not JSON`);
  }
  const result = parsed as Partial<Generate3dResult>;
  if (result.status !== 'success' || typeof result.output_s3_key !== 'string') {
    throw new InferenceError(
      `endpoint ${endpointName} answered without a result: ${JSON.stringify(parsed).slice(0, 500)}`,
    );
  }
  return result as Generate3dResult;
}

/** SageMaker runtime errors → the shared names. Exported for the tests that force each case. */
export function mapInvokeError(err: unknown, endpointName: string): Error {
  const e = err as { name?: string; message?: string; OriginalStatusCode?: number; OriginalMessage?: string };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(err);
  if (THROTTLED.has(name))
    return new ThrottledError(`InvokeEndpoint ${endpointName}: ${name}: ${message}`, { cause: err });
  if (name !== 'ModelError' && isTransientAwsError(err)) {
    return new ServiceUnavailableError(`InvokeEndpoint ${endpointName} got no answer: ${name}: ${message}`, {
      cause: err,
    });
  }
  if (name === 'ModelNotReadyException') {
    return new EndpointNotReadyError(`endpoint ${endpointName}: the model is not ready yet`, { cause: err });
  }
  if (name === 'ValidationError' || name === 'ValidationException') {
    // SageMaker answers alike for an endpoint that is missing and one that is not serving yet.
    if (/not found|could not find/i.test(message)) {
      return new EndpointNotReadyError(`endpoint ${endpointName} is not serving: ${message}`, { cause: err });
    }
    return new InferenceInputError(`InvokeEndpoint ${endpointName} refused the request: ${message}`, {
      cause: err,
    });
  }
  if (name === 'ModelError') {
    const status = e.OriginalStatusCode ?? 0;
    const detail = modelErrorDetail(e.OriginalMessage) ?? message;
    if (status === 429)
      return new ThrottledError(`model server of ${endpointName} is busy: ${detail}`, { cause: err });
    if (status >= 400 && status < 500)
      return new InferenceInputError(`the model server refused the inputs: ${detail}`, { cause: err });
    return new InferenceError(`the model server failed (${status}): ${detail}`, { cause: err });
  }
  return new InferenceError(`InvokeEndpoint ${endpointName} failed: ${name}: ${message}`, { cause: err });
}

/** The container's `{ error: { code, message } }`, as "code: message". */
function modelErrorDetail(original: string | undefined): string | undefined {
  if (original === undefined) return undefined;
  try {
    const body = JSON.parse(original) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return `${body.error.code}: ${body.error.message ?? ''}`;
  } catch {
    // not the container's JSON: keep the text as it is
  }
  return original;
}
