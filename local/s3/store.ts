// s3rver's file store, made safe for any request:
// - a key is an opaque string on S3, so it is mapped to a path that cannot leave its bucket's folder:
//   '%' and '.' are escaped everywhere, and a '/' that would open an empty segment is escaped too, so
//   no segment is '', '.' or '..'; `a/../b.txt` and `a//b.txt` are keys of their own;
// - bucket names are checked against S3's rules before they name a folder;
// - a body is written to a temporary file and renamed into place only once it arrived whole and
//   matched its declared digests, so a cut-off or corrupt upload stores nothing (and s3rver, which
//   announces an object only after the store returns, announces nothing);
// - multipart uploads can be listed and aborted, and only a live upload takes parts or completes.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3Error from 's3rver/lib/models/error.js';
import FilesystemStore, { type StoredObject } from 's3rver/lib/stores/filesystem.js';
import { S3BodyError } from './integrity.ts';

const ESCAPES: Record<string, string> = { '%': '%25', '.': '%2E', '/': '%2F', '\0': '%00' };
const UNESCAPES = Object.fromEntries(Object.entries(ESCAPES).map(([c, e]) => [e, c]));

/** The relative path a key is stored under (segments joined by '/'); prefix-preserving. */
export function keyToPath(key: string): string {
  return key.replace(/[%.\0]|(?<=^|\/)\//g, (c) => ESCAPES[c]!);
}

export function pathToKey(path: string): string {
  return path.replace(/%(25|2E|2F|00)/g, (e) => UNESCAPES[e]!);
}

// s3rver's listing and paths call these statics on the class itself, so they are replaced there.
FilesystemStore.encodeKeyPath = keyToPath;
FilesystemStore.decodeKeyPath = pathToKey;

/** S3's bucket naming rules (general purpose buckets). */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

function checkBucket(bucket: string): void {
  if (!isValidBucketName(bucket)) {
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
  }
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

export interface PartInfo {
  number: number;
  etag: string;
  size: number;
  lastModified: Date;
}

export class SafeFilesystemStore extends FilesystemStore {
  override getBucketPath(bucket: string): string {
    checkBucket(bucket);
    return super.getBucketPath(bucket);
  }

  override getResourcePath(bucket: string, key: string | undefined, resource: string): string {
    checkBucket(bucket);
    return super.getResourcePath(bucket, key, resource);
  }

  async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const written = await writeWhole(object.content, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        unlink(this.getResourcePath(bucket, key, resource)).catch(ignoreMissing),
      ),
    );
    // Remove the folders the key leaves empty, never above the bucket's own.
    const bucketPath = this.getBucketPath(bucket);
    const folders = keyToPath(key).split('/').slice(0, -1);
    for (; folders.length > 0; folders.pop()) {
      const folder = join(bucketPath, ...folders);
      const entries = await readdir(folder).catch(() => undefined);
      if (!entries || entries.length > 0) break;
      await rmdir(folder).catch(ignoreMissing);
    }
  }

  private uploadDir(bucket: string, uploadId: string): string {
    return join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  }

  /** The folder of a live upload; NoSuchUpload for an id never issued, completed or aborted. */
  async liveUpload(bucket: string, uploadId: unknown): Promise<{ dir: string; key: string }> {
    if (typeof uploadId === 'string' && UPLOAD_ID.test(uploadId)) {
      const dir = this.uploadDir(bucket, uploadId);
      const key = await readFile(join(dir, 'key'), 'utf8').catch(() => undefined);
      if (key !== undefined) return { dir, key };
    }
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: String(uploadId) },
    );
  }

  async putPart(
    bucket: string,
    uploadId: string,
    partNumber: string,
    content: Readable,
  ): Promise<{ size: number; md5: string }> {
    const number = Number(partNumber);
    if (!Number.isInteger(number) || number < 1 || number > 10_000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: partNumber,
      });
    }
    const { dir } = await this.liveUpload(bucket, uploadId);
    const partPath = join(dir, String(number));
    const written = await writeWhole(content, partPath);
    await writeFile(`${partPath}.md5`, written.md5);
    return written;
  }

  async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
  ): Promise<{ size: number; md5: string }> {
    const { dir, key } = await this.liveUpload(bucket, uploadId);
    const stored = new Map((await this.listParts(bucket, uploadId)).map((p) => [p.number, p]));
    for (const part of parts) {
      if (stored.get(part.number)?.etag !== part.etag) {
        throw new S3Error(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        );
      }
    }
    const metadata = JSON.parse(await readFile(join(dir, 'metadata'), 'utf8')) as Record<string, unknown>;
    const ordered = [...parts].sort((a, b) => a.number - b.number);
    const content = Readable.from(
      (async function* () {
        for (const part of ordered) yield await readFile(join(dir, String(part.number)));
      })(),
    );
    const result = await this.putObject({ bucket, key, content, metadata });
    await rm(dir, { recursive: true, force: true });
    return result;
  }

  async listParts(bucket: string, uploadId: string): Promise<PartInfo[]> {
    const { dir } = await this.liveUpload(bucket, uploadId);
    const names = (await readdir(dir)).filter((n) => /^\d+$/.test(n));
    const parts = await Promise.all(
      names.map(async (name) => {
        const path = join(dir, name);
        const [info, md5] = await Promise.all([stat(path), readFile(`${path}.md5`, 'utf8')]);
        return { number: Number(name), etag: md5, size: info.size, lastModified: info.mtime };
      }),
    );
    return parts.sort((a, b) => a.number - b.number);
  }

  /** Removes the upload and every part it holds; it can then be neither continued nor completed. */
  async abortUpload(bucket: string, uploadId: string): Promise<void> {
    const { dir } = await this.liveUpload(bucket, uploadId);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a body to `target` only if it arrives whole; MD5 and size as s3rver records them. */
async function writeWhole(
  content: Readable | Buffer,
  target: string,
): Promise<{ size: number; md5: string }> {
  const temporary = `${target}.${randomUUID()}.partial`;
  const md5 = createHash('md5');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
    await pipeline(source, measure, createWriteStream(temporary));
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw toS3Error(err);
  }
  return { size, md5: md5.digest('hex') };
}

function toS3Error(err: unknown): unknown {
  if (err instanceof S3BodyError) return new S3Error(err.code, err.message);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new S3Error(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    );
  }
  return err;
}

function ignoreMissing(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
}
