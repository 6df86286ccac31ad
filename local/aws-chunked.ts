// Decoder for the `aws-chunked` content encoding that the AWS SDK v3 uses for streamed uploads with
// its default checksums (flexible checksums in a trailer). s3rver stores such bodies framing and all,
// which silently corrupts the object; the local S3 decodes them before s3rver sees the body.
// Format: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` repeated, then `0[;...]\r\n`, trailers, `\r\n`.
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';

export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = -1; // bytes of chunk data still to pass on; -1 = expecting a size line
  private finished = false;
  private crc = 0;
  readonly trailers: Record<string, string> = {};

  override _transform(data: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    try {
      this.drain();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.finished) return done(new Error('aws-chunked body ended before its final zero-length chunk'));
    this.parseTrailers(); // trailers may arrive in any later packet, so they are read at the end
    const expected = this.trailers['x-amz-checksum-crc32'];
    if (expected !== undefined) {
      const actual = Buffer.alloc(4);
      actual.writeUInt32BE(this.crc >>> 0);
      if (actual.toString('base64') !== expected) {
        const err = new Error(
          `CRC32 of the decoded body is ${actual.toString('base64')}, trailer says ${expected}`,
        );
        err.name = 'BadDigest';
        return done(err);
      }
    }
    done();
  }

  private drain(): void {
    while (!this.finished) {
      if (this.remaining > 0) {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        const piece = this.buffer.subarray(0, take);
        this.crc = crc32(piece, this.crc);
        this.push(piece);
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        continue;
      }
      if (this.remaining === 0) {
        if (this.buffer.length < 2) return;
        this.buffer = this.buffer.subarray(2); // CRLF after the chunk data
        this.remaining = -1;
        continue;
      }
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const sizeField = this.buffer.subarray(0, eol).toString('latin1').split(';')[0] ?? '';
      const size = Number.parseInt(sizeField, 16);
      if (!/^[0-9a-fA-F]+$/.test(sizeField) || Number.isNaN(size)) {
        throw new Error(`malformed aws-chunked size line '${sizeField}'`);
      }
      this.buffer = this.buffer.subarray(eol + 2);
      if (size === 0) {
        this.finished = true;
        return;
      }
      this.remaining = size;
    }
  }

  private parseTrailers(): void {
    for (const line of this.buffer.toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
}

/** True when a request's headers say its body is aws-chunked framed. */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}
