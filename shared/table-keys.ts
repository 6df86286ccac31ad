// Key builders for the single table. Every key starts with the orchestrator's prefix (`sf#` or
// `ldf#`), and the only way to build one is through tableKey(), so a key without a prefix cannot
// be written and one orchestrator never touches the other's items.
import { isOrchestrator, type Orchestrator } from './keys.ts';

/** `sf#` or `ldf#`. */
export function keyPrefix(orchestrator: Orchestrator): string {
  if (!isOrchestrator(orchestrator)) {
    throw new RangeError(`unknown orchestrator '${String(orchestrator)}': expected 'sf' or 'ldf'`);
  }
  return `${orchestrator}#`;
}

/** `{prefix}{part}#{part}...`, e.g. tableKey('sf', 'job', id) = `sf#job#<id>`. Parts may not contain '#'. */
export function tableKey(orchestrator: Orchestrator, ...parts: string[]): string {
  for (const part of parts) {
    if (part === '' || part.includes('#')) {
      throw new RangeError(`table key part '${part}' must be non-empty and contain no '#'`);
    }
  }
  return keyPrefix(orchestrator) + parts.join('#');
}

/** The orchestrator a stored key belongs to, or undefined for a key without a valid prefix. */
export function orchestratorOfKey(key: string): Orchestrator | undefined {
  const prefix = key.split('#', 1)[0];
  return isOrchestrator(prefix) ? prefix : undefined;
}
