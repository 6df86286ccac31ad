// S3 key conventions (design "The flow"): one place builds and parses every object key,
// so both orchestrators, the container and the benchmarks agree byte for byte.

/** The two orchestrators. Every table key and every output key carries one of these. */
export const ORCHESTRATORS = ['sf', 'ldf'] as const;
export type Orchestrator = (typeof ORCHESTRATORS)[number];

export function isOrchestrator(value: unknown): value is Orchestrator {
  return typeof value === 'string' && (ORCHESTRATORS as readonly string[]).includes(value);
}

export const IMAGE_SUFFIX = '_image.png';
export const MASK_SUFFIX = '_mask.png';
/** S3's own limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/**
 * An input key's longest derived key (`output/ldf/{name}_error.json` for `input/{name}_image.png`) is
 * this many bytes longer, so an input key may be at most MAX_KEY_BYTES - this: every result still fits.
 */
const DERIVED_KEY_GROWTH = 'output/ldf/_error.json'.length - 'input/_image.png'.length;
/** C0 and C1 control characters and DEL: S3 stores them, but no person's file name holds one. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** Half of a surrogate pair with no other half: not a character, and not encodable as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

export type InputKind = 'image' | 'mask';

export interface InputKey {
  userId: string;
  name: string;
  kind: InputKind;
  /** The key as stored in S3. */
  key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };
/** Why a key is not an input key; `userId` when the key is in a user's input folder (the job is theirs). */
export type InputKeyResult = { ok: true; value: InputKey } | { ok: false; reason: string; userId?: string };

/**
 * A user id or upload name may be any UTF-8 text S3 takes in a key segment (spaces, '+', '%',
 * non-ASCII letters), except what would make the key mean something else or no one's file name: an
 * empty or relative ('.', '..') segment, a '/', a control character, text that is not valid Unicode. Ids,
 * execution names and table keys never carry it raw: they hash it (job-model.ts) or encode it
 * (table-keys.ts), so no name needs refusing for their sake.
 */
function checkSegment(what: string, value: string): string | undefined {
  if (value === '') return `${what} is empty`;
  if (value === '.' || value === '..') return `${what} '${value}' is a relative path segment`;
  if (value.includes('/')) return `${what} '${value}' contains '/', which would split the key into folders`;
  if (LONE_SURROGATE.test(value)) return `${what} ${JSON.stringify(value)} is not valid Unicode text`;
  const control = CONTROL.exec(value);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `${what} ${JSON.stringify(value)} contains the control character U+${code}; rename the file without it`;
  }
  return undefined;
}

function assertSegment(what: string, value: string): void {
  const problem = checkSegment(what, value);
  if (problem) throw new RangeError(problem);
}

export function inputImageKey(userId: string, name: string): string {
  assertSegment('user id', userId);
  assertSegment('name', name);
  return `users/${userId}/input/${name}${IMAGE_SUFFIX}`;
}

export function inputMaskKey(userId: string, name: string): string {
  assertSegment('user id', userId);
  assertSegment('name', name);
  return `users/${userId}/input/${name}${MASK_SUFFIX}`;
}

/** Where an orchestrator's reconstruction lands: `users/{userId}/output/{sf|ldf}/{name}.ply`. */
export function outputKey(orchestrator: Orchestrator, userId: string, name: string): string {
  assertSegment('user id', userId);
  assertSegment('name', name);
  return `users/${userId}/output/${orchestrator}/${name}.ply`;
}

/** Where an orchestrator records why a job failed: `users/{userId}/output/{sf|ldf}/{name}_error.json`. */
export function errorKey(orchestrator: Orchestrator, userId: string, name: string): string {
  assertSegment('user id', userId);
  assertSegment('name', name);
  return `users/${userId}/output/${orchestrator}/${name}_error.json`;
}

/**
 * The key an S3 `Object Created` event delivered through EventBridge names, as stored: EventBridge's
 * `detail.object.key` is not URL-encoded, unlike the `Records[].s3.object.key` of S3's classic
 * notifications (local/s3/README.md, "Event keys", has the sources). So there is nothing to decode,
 * and decoding anyway would corrupt a name holding '+' or '%'; this is the one place that says so.
 */
export function decodeEventKey(raw: string): ParseResult<string> {
  return { ok: true, value: raw };
}

/**
 * Parses an input key (as stored) into user, name and kind, or says exactly why it is not one.
 * Accepted: `users/{userId}/input/{name}_image.png` and `users/{userId}/input/{name}_mask.png`, where
 * user id and name are any text `checkSegment` allows, and every key derived from it fits in S3.
 */
export function parseInputKey(key: string): InputKeyResult {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    return { ok: false, reason: `key is ${bytes} bytes, longer than S3's ${MAX_KEY_BYTES}-byte limit` };
  }
  const parts = key.split('/');
  if (parts[0] !== 'users' || parts.length < 2) {
    return { ok: false, reason: `key ${JSON.stringify(key)} does not start with 'users/'` };
  }
  if (parts.length !== 4 || parts[2] !== 'input') {
    const relative = parts.find((p) => p === '.' || p === '..');
    return {
      ok: false,
      reason:
        relative !== undefined
          ? `key ${JSON.stringify(key)} holds the relative path segment '${relative}'`
          : `key ${JSON.stringify(key)} is not of the form users/{userId}/input/{name}${IMAGE_SUFFIX}`,
    };
  }
  const [, userId = '', , file = ''] = parts;
  const userProblem = checkSegment('user id', userId);
  if (userProblem) return { ok: false, reason: userProblem };
  let kind: InputKind;
  let name: string;
  if (file.endsWith(IMAGE_SUFFIX)) {
    kind = 'image';
    name = file.slice(0, -IMAGE_SUFFIX.length);
  } else if (file.endsWith(MASK_SUFFIX)) {
    kind = 'mask';
    name = file.slice(0, -MASK_SUFFIX.length);
  } else {
    return {
      ok: false,
      reason: `key ${JSON.stringify(key)} must end with '${IMAGE_SUFFIX}' or '${MASK_SUFFIX}'`,
      userId,
    };
  }
  const nameProblem = checkSegment('name', name);
  if (nameProblem) return { ok: false, reason: nameProblem, userId };
  if (bytes > MAX_KEY_BYTES - DERIVED_KEY_GROWTH) {
    return {
      ok: false,
      userId,
      reason: `key is ${bytes} bytes: its result keys (users/{userId}/output/{sf|ldf}/{name}_error.json) would pass S3's ${MAX_KEY_BYTES}-byte limit; use a key of at most ${MAX_KEY_BYTES - DERIVED_KEY_GROWTH} bytes`,
    };
  }
  return { ok: true, value: { userId, name, kind, key } };
}

/** Parses a key straight from an S3/EventBridge event (decodeEventKey), then checks it. */
export function parseEventKey(raw: string): InputKeyResult {
  const decoded = decodeEventKey(raw);
  return decoded.ok ? parseInputKey(decoded.value) : decoded;
}
