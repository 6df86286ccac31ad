// What S3 checks about an upload's body before it stores anything: the declared length, Content-MD5,
// and the flexible checksums (x-amz-checksum-crc32 / -sha1 / -sha256, as a header or an aws-chunked
// trailer). The body flows through a BodyVerifier; at its end a mismatch fails the stream with the
// error S3 answers, so the store (local/s3/store.ts), which writes to a temporary file and keeps it
// only once the stream ended cleanly, stores nothing and announces nothing.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';

/** An error S3 answers with `code` (BadDigest, InvalidDigest, IncompleteBody, InvalidRequest...). */
export class S3BodyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

type Headers = Record<string, string | string[] | undefined>;

interface Expectations {
  length?: number;
  md5?: string;
  /** Flexible checksums by algorithm (crc32, sha1, sha256), base64 as S3 spells them. */
  checksums: Map<string, string>;
  /** The algorithm of the checksum an aws-chunked trailer will carry (x-amz-trailer). */
  trailer?: string;
}

const DIGEST_BYTES: Record<string, number> = { crc32: 4, sha1: 20, sha256: 32 };

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

function isBase64Of(value: string, bytes: number): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes;
}

/**
 * Reads what the request declares about its body; throws S3BodyError for a malformed declaration.
 * `decodedLength` is x-amz-decoded-content-length of an aws-chunked body (its payload's real length).
 */
export function expectationsOf(headers: Headers, decodedLength?: string): Expectations {
  const expected: Expectations = { checksums: new Map() };
  if (decodedLength !== undefined) {
    if (!/^\d+$/.test(decodedLength)) {
      throw new S3BodyError(
        'InvalidRequest',
        `x-amz-decoded-content-length '${decodedLength}' is not a number`,
      );
    }
    expected.length = Number(decodedLength);
  }
  const md5 = header(headers, 'content-md5');
  if (md5 !== undefined) {
    if (!isBase64Of(md5, 16)) {
      throw new S3BodyError('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    }
    expected.md5 = md5;
  }
  for (const [algorithm, bytes] of Object.entries(DIGEST_BYTES)) {
    const value = header(headers, `x-amz-checksum-${algorithm}`);
    if (value === undefined) continue;
    if (!isBase64Of(value, bytes)) {
      throw new S3BodyError('InvalidRequest', `Value for x-amz-checksum-${algorithm} header is invalid.`);
    }
    expected.checksums.set(algorithm, value);
  }
  const trailer = /^x-amz-checksum-(crc32|sha1|sha256)$/.exec(header(headers, 'x-amz-trailer') ?? '')?.[1];
  if (trailer) expected.trailer = trailer;
  return expected;
}

/** Passes the body on unchanged, and fails it at its end when it is not what was declared. */
export class BodyVerifier extends Transform {
  private length = 0;
  private crc = 0;
  // Only the digests the request declared are computed (CRC32 always: it is cheap and may come in
  // an undeclared trailer); a large upload pays for no hash it does not need.
  private readonly md5: Hash | undefined;
  private readonly hashes = new Map<string, Hash>();

  constructor(
    private readonly expected: Expectations,
    /** Checksums that arrive as aws-chunked trailers, known once the decoder has finished. */
    private readonly trailers: () => Record<string, string> = () => ({}),
  ) {
    super();
    if (expected.md5 !== undefined) this.md5 = createHash('md5');
    for (const algorithm of [...expected.checksums.keys(), expected.trailer]) {
      if (algorithm && algorithm !== 'crc32') this.hashes.set(algorithm, createHash(algorithm));
    }
  }

  override _transform(data: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.length += data.length;
    this.crc = crc32(data, this.crc);
    this.md5?.update(data);
    for (const hash of this.hashes.values()) hash.update(data);
    done(null, data);
  }

  override _flush(done: TransformCallback): void {
    done(this.problem());
  }

  private problem(): S3BodyError | null {
    const { length, md5 } = this.expected;
    if (length !== undefined && length !== this.length) {
      return this.length < length
        ? new S3BodyError(
            'IncompleteBody',
            `You did not provide the number of bytes specified by x-amz-decoded-content-length (${length}); got ${this.length}`,
          )
        : new S3BodyError(
            'InvalidRequest',
            `The body is ${this.length} bytes, more than x-amz-decoded-content-length says (${length})`,
          );
    }
    if (md5 !== undefined && this.md5?.digest('base64') !== md5) {
      return new S3BodyError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const checksums = new Map(this.expected.checksums);
    for (const [name, value] of Object.entries(this.trailers())) {
      const algorithm = /^x-amz-checksum-(crc32|sha1|sha256)$/.exec(name)?.[1];
      if (algorithm) checksums.set(algorithm, value);
    }
    for (const [algorithm, value] of checksums) {
      const actual = this.digest(algorithm);
      if (actual === undefined) {
        return new S3BodyError(
          'InvalidRequest',
          `The x-amz-checksum-${algorithm} trailer was not declared in x-amz-trailer.`,
        );
      }
      if (actual !== value) {
        return new S3BodyError(
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
    }
    return null;
  }

  /** The body's digest, or undefined for an algorithm no header declared (then it cannot match). */
  private digest(algorithm: string): string | undefined {
    if (algorithm === 'crc32') {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(this.crc >>> 0);
      return bytes.toString('base64');
    }
    return this.hashes.get(algorithm)?.copy().digest('base64');
  }
}
