// S3 object events in the shape EventBridge delivers them (Amazon S3 User Guide, "EventBridge event
// message structure"). The key is the key as stored, not URL-encoded: that encoding belongs to S3's
// classic notifications (`Records[].s3.object.key`, space as '+'), not to EventBridge's
// `detail.object.key` (README.md, "Event keys", has the sources). Consumers read it as it is
// (shared/keys.ts decodeEventKey), so a name holding '+', '%' or a space reaches them unchanged.
import { randomUUID } from 'node:crypto';
import type { S3ObjectCreatedEvent } from '../../shared/aws-events.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import type { S3ObjectEvent } from './service.ts';

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
        key: event.key,
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
