// Decoder for the `aws-chunked` content encoding that the AWS SDK v3 uses for streamed uploads with
// its default checksums (flexible checksums in a trailer). s3rver stores such bodies framing and all,
// which silently corrupts the object; the local S3 decodes them before s3rver sees the body.
// Format: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` repeated, then `0[;...]\r\n`, trailers, `\r\n`.
// A broken frame fails the stream with the S3 error it deserves; the trailer's checksums are checked
// by the BodyVerifier behind it (local/s3/integrity.ts).
import { Transform, type TransformCallback } from 'node:stream';
import { S3BodyError } from './integrity.ts';

export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = -1; // bytes of chunk data still to pass on; -1 = expecting a size line
  private finished = false;
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
    if (!this.finished) {
      return done(
        new S3BodyError('IncompleteBody', 'The aws-chunked body ended before its final zero-length chunk'),
      );
    }
    this.parseTrailers(); // trailers may arrive in any later packet, so they are read at the end
    done();
  }

  private drain(): void {
    while (!this.finished) {
      if (this.remaining > 0) {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        const piece = this.buffer.subarray(0, take);
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
      if (eol < 0) {
        // A size line is a few dozen bytes (with its signature); a longer one is not aws-chunked.
        if (this.buffer.length > 4096)
          throw new S3BodyError('InvalidRequest', 'Malformed aws-chunked size line');
        return;
      }
      const sizeField = this.buffer.subarray(0, eol).toString('latin1').split(';')[0] ?? '';
      const size = Number.parseInt(sizeField, 16);
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeField) || Number.isNaN(size)) {
        throw new S3BodyError(
          'InvalidRequest',
          `Malformed aws-chunked chunk size '${sizeField.slice(0, 40)}'`,
        );
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
