// The object store as the activities use it: whether an object is there, and writing a JSON
// artifact. One port over S3, as JobStore and EndpointStore are over DynamoDB, so the activities
// make no raw S3 call and "not found" is folded in one place.
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface ObjectStore {
  /** True when the object exists; false for S3's "not found" answers; other errors are thrown. */
  exists(bucket: string, key: string): Promise<boolean>;
  /** Writes `value` as indented JSON (overwriting: the same content twice is the same object). */
  putJson(bucket: string, key: string, value: unknown): Promise<void>;
}

export function s3ObjectStore(s3: S3Client): ObjectStore {
  return {
    async exists(bucket, key) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)
          return false;
        throw err;
      }
    },
    async putJson(bucket, key, value) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `${JSON.stringify(value, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      );
    },
  };
}
