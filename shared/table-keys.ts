// Key builders for the single table. Every key starts with the orchestrator's prefix (`sf#` or
// `ldf#`), and the only way to build one is through tableKey(), so a key without a prefix cannot
// be written, one orchestrator never touches the other's items, and no part (a user id is any text)
// can split a key.
import { createHash } from 'node:crypto';
import { isOrchestrator, type Orchestrator } from './keys.ts';

/** `sf#` or `ldf#`. */
export function keyPrefix(orchestrator: Orchestrator): string {
  if (!isOrchestrator(orchestrator)) {
    throw new RangeError(`unknown orchestrator '${String(orchestrator)}': expected 'sf' or 'ldf'`);
  }
  return `${orchestrator}#`;
}

/** A part longer than this (UTF-8 bytes, escaped) is hashed, so a whole key stays far inside DynamoDB's 2048. */
const MAX_PART_BYTES = 1024;

/**
 * One part of a table key, any text (a user id is whatever the upload's key says): '%' and '#' are
 * escaped (`%25`, `%23`), so a part can never split or forge a key; an over-long part becomes
 * `%sha256:<hex>`, which no escaped part can equal. Parts of letters, digits and most punctuation are
 * unchanged, so existing keys keep their spelling.
 */
export function keyPart(value: string): string {
  const escaped = value.replace(/[%#]/g, (c) => (c === '%' ? '%25' : '%23'));
  if (Buffer.byteLength(escaped, 'utf8') <= MAX_PART_BYTES) return escaped;
  return `%sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/** `{prefix}{part}#{part}...`, e.g. tableKey('sf', 'job', id) = `sf#job#<id>`; each part through keyPart(). */
export function tableKey(orchestrator: Orchestrator, ...parts: string[]): string {
  for (const part of parts) {
    if (part === '') throw new RangeError('a table key part must be non-empty');
  }
  return keyPrefix(orchestrator) + parts.map(keyPart).join('#');
}

/** The orchestrator a stored key belongs to, or undefined for a key without a valid prefix. */
export function orchestratorOfKey(key: string): Orchestrator | undefined {
  const prefix = key.split('#', 1)[0];
  return isOrchestrator(prefix) ? prefix : undefined;
}
