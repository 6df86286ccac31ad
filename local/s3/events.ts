// S3 object events in the shape EventBridge delivers them (Amazon S3 User Guide, "EventBridge event
// message structure"). The key is URL-encoded as in S3's other event notifications (space as '+');
// consumers decode it once (shared/keys.ts decodeEventKey), which is right whichever way AWS spells it.
import { randomUUID } from 'node:crypto';
import type { S3ObjectCreatedEvent } from '../../shared/aws-events.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import type { S3ObjectEvent } from './service.ts';

/** URL-encodes a key as S3 event notifications do: every segment encoded, '/' kept, space as '+'. */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

/** The EventBridge event for a local S3 object event, or undefined for kinds the project ignores. */
export function toEventBridgeEvent(
  event: S3ObjectEvent,
  context: { region: string; account?: string; now?: () => number },
): S3ObjectCreatedEvent | undefined {
  if (event.detailType !== 'Object Created' || event.reason === 'DeleteObject') return undefined;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: context.account ?? LOCAL_ACCOUNT_ID,
    time: new Date(context.now?.() ?? event.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: context.region,
    resources: [`arn:aws:s3:::${event.bucket}`],
    detail: {
      version: '0',
      bucket: { name: event.bucket },
      object: {
        key: encodeEventKey(event.key),
        ...(event.size === undefined ? {} : { size: event.size }),
        ...(event.etag === undefined ? {} : { etag: event.etag.replace(/"/g, '') }),
        sequencer: event.sequencer,
      },
      'request-id': event.requestId,
      requester: context.account ?? LOCAL_ACCOUNT_ID,
      'source-ip-address': event.sourceIp,
      reason: event.reason,
    },
  };
}
