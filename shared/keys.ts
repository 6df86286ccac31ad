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
/** A user id or upload name: letters, digits, '.', '_' and '-', starting with a letter or digit. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export type InputKind = 'image' | 'mask';

export interface InputKey {
  userId: string;
  name: string;
  kind: InputKind;
  /** The key as stored in S3 (decoded). */
  key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function checkSegment(what: string, value: string): string | undefined {
  if (value === '') return `${what} is empty`;
  if (value === '.' || value === '..') return `${what} '${value}' is a relative path segment`;
  if (!SEGMENT.test(value)) {
    return `${what} '${value}' must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit`;
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
 * Decodes a key as S3 event notifications deliver it (URL-encoded, '+' for space), exactly once.
 * A key that is not valid percent-encoding is returned as a rejection, not thrown.
 */
export function decodeEventKey(raw: string): ParseResult<string> {
  try {
    return { ok: true, value: decodeURIComponent(raw.replace(/\+/g, '%20')) };
  } catch {
    return { ok: false, reason: `key '${raw}' is not valid URL encoding` };
  }
}

/**
 * Parses an input key (already decoded) into user, name and kind, or says exactly why it is not one.
 * Accepted: `users/{userId}/input/{name}_image.png` and `users/{userId}/input/{name}_mask.png`.
 */
export function parseInputKey(key: string): ParseResult<InputKey> {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    return { ok: false, reason: `key is longer than ${MAX_KEY_BYTES} bytes` };
  }
  const parts = key.split('/');
  if (parts[0] !== 'users' || parts.length < 2) {
    return { ok: false, reason: `key '${key}' does not start with 'users/'` };
  }
  if (parts.length !== 4 || parts[2] !== 'input') {
    return {
      ok: false,
      reason: `key '${key}' is not of the form users/{userId}/input/{name}${IMAGE_SUFFIX}`,
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
    return { ok: false, reason: `key '${key}' must end with '${IMAGE_SUFFIX}' or '${MASK_SUFFIX}'` };
  }
  const nameProblem = checkSegment('name', name);
  if (nameProblem) return { ok: false, reason: nameProblem };
  return { ok: true, value: { userId, name, kind, key } };
}

/** Parses a key straight from an S3/EventBridge event: decoded once, then checked. */
export function parseEventKey(raw: string): ParseResult<InputKey> {
  const decoded = decodeEventKey(raw);
  return decoded.ok ? parseInputKey(decoded.value) : decoded;
}
