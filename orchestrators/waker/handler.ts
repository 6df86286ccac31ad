// The shared waker Lambda (a plain function, both orchestrators): the target of the SageMaker
// `Endpoint State Change` rule and of the `_mask.png` upload rule. Wiring only: it hands each event to
// createWakers (shared/wakers.ts), which answers the waiting task tokens and durable callbacks.
import type { S3ObjectCreatedEvent, SageMakerEndpointStateChangeEvent } from '../../shared/aws-events.ts';
import { createWakers } from '../../shared/wakers.ts';
import { loadConfig } from '../../shared/config.ts';
import { createDeps } from '../../shared/deps.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { logger } from '../../shared/observability.ts';

const wakers = createWakers(createDeps(loadConfig(), { log: (line) => logger.info(line) }));

export async function handler(event: unknown): Promise<string[]> {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  if (detailType === 'SageMaker Endpoint State Change') {
    return wakers.endpointStateChanged(event as SageMakerEndpointStateChangeEvent);
  }
  if (detailType === 'Object Created') {
    const key = (event as S3ObjectCreatedEvent).detail?.object?.key;
    if (typeof key !== 'string')
      throw new InvalidInputError('an Object Created event without detail.object.key');
    return key.endsWith('_mask.png')
      ? wakers.maskUploaded(event as S3ObjectCreatedEvent)
      : [`ignored ${key}`];
  }
  throw new InvalidInputError(
    `the waker takes 'SageMaker Endpoint State Change' and 'Object Created' events, not ${JSON.stringify(detailType ?? null)}`,
  );
}
