// EventBridge event-pattern matching, as the AWS docs define it ("Event patterns" and "Comparison
// operators for use in event patterns"): a pattern has the shape of the event; every leaf is an array
// of alternatives (OR), every field must match (AND). The local bus routes with it, so a rule behaves
// locally as it does once deployed. Malformed patterns are refused up front, as PutRule does.

export type EventPattern = { [field: string]: unknown };

/** A pattern EventBridge would refuse (PutRule's InvalidEventPatternException). */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
}

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);
const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Throws InvalidEventPatternError naming the first problem in `pattern`. */
export function validatePattern(pattern: unknown, path = '$'): asserts pattern is EventPattern {
  if (!isObject(pattern)) throw new InvalidEventPatternError(`${path}: a pattern must be a JSON object`);
  for (const [field, value] of Object.entries(pattern)) {
    const at = `${path}.${field}`;
    if (field === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidEventPatternError(`${at}: $or takes an array of at least two patterns`);
      }
      value.forEach((alt, i) => validatePattern(alt, `${at}[${i}]`));
    } else if (isObject(value)) {
      validatePattern(value, at);
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidEventPatternError(`${at}: a match array may not be empty`);
      value.forEach((m, i) => validateMatcher(m, `${at}[${i}]`));
    } else {
      throw new InvalidEventPatternError(
        `${at}: a leaf must be an array of values or matchers, got ${JSON.stringify(value)}`,
      );
    }
  }
}

function validateMatcher(m: unknown, at: string): void {
  if (m === null || typeof m === 'string' || typeof m === 'number' || typeof m === 'boolean') return;
  if (!isObject(m)) throw new InvalidEventPatternError(`${at}: nested arrays are not allowed`);
  const keys = Object.keys(m);
  const op = keys[0];
  if (keys.length !== 1 || op === undefined || !OPERATORS.has(op)) {
    throw new InvalidEventPatternError(
      `${at}: unknown matcher ${JSON.stringify(m)}; expected one of ${[...OPERATORS].join(', ')}`,
    );
  }
  const arg = m[op];
  const bad = (what: string): never => {
    throw new InvalidEventPatternError(`${at}: '${op}' ${what}, got ${JSON.stringify(arg)}`);
  };
  switch (op) {
    case 'prefix':
    case 'suffix':
      if (typeof arg !== 'string' && !(isObject(arg) && typeof arg['equals-ignore-case'] === 'string')) {
        bad('takes a string or {"equals-ignore-case": string}');
      }
      break;
    case 'equals-ignore-case':
      if (typeof arg !== 'string') bad('takes a string');
      break;
    case 'wildcard':
      if (typeof arg !== 'string') bad('takes a string');
      if (/\*\*/.test(String(arg).replace(/\\./g, ''))) bad('may not contain consecutive wildcards');
      break;
    case 'exists':
      if (typeof arg !== 'boolean') bad('takes true or false');
      break;
    case 'cidr':
      if (typeof arg !== 'string' || parseCidr(arg) === undefined) bad('takes an IPv4 or IPv6 CIDR block');
      break;
    case 'numeric': {
      const list = Array.isArray(arg) ? (arg as unknown[]) : [];
      if (list.length === 0 || list.length > 4 || list.length % 2 !== 0)
        bad('takes one or two [operator, number] pairs');
      for (let i = 0; i < list.length; i += 2) {
        if (!NUMERIC_OPS.has(String(list[i])) || typeof list[i + 1] !== 'number')
          bad('takes [operator, number] pairs');
      }
      break;
    }
    case 'anything-but': {
      const ok =
        typeof arg === 'string' ||
        typeof arg === 'number' ||
        (Array.isArray(arg) &&
          arg.length > 0 &&
          arg.every((v) => typeof v === 'string' || typeof v === 'number')) ||
        (isObject(arg) &&
          Object.keys(arg).length === 1 &&
          ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].some(
            (k) =>
              typeof arg[k] === 'string' ||
              (Array.isArray(arg[k]) && (arg[k] as unknown[]).every((v) => typeof v === 'string')),
          ));
      if (!ok) bad('takes a value, a list of values, or one of prefix, suffix, equals-ignore-case, wildcard');
      break;
    }
  }
}

/** Whether `event` matches `pattern`, by EventBridge's rules. The pattern must be valid. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return Object.entries(pattern).every(([field, p]) => {
    if (field === '$or') return (p as EventPattern[]).some((alt) => matchesPattern(alt, event));
    const present = isObject(event) && Object.hasOwn(event, field);
    const value = present ? event[field] : undefined;
    if (isObject(p)) {
      // A nested pattern matches an object, or any object of an array of them.
      if (isObject(value)) return matchesPattern(p, value);
      if (Array.isArray(value)) return value.some((v) => isObject(v) && matchesPattern(p, v));
      return false;
    }
    const matchers = p as unknown[];
    // An array in the event matches when any of its elements does.
    const values: unknown[] = Array.isArray(value) ? value : [value];
    return matchers.some((m) =>
      isObject(m) && 'exists' in m
        ? m.exists === (present && !isObject(value) && !(Array.isArray(value) && value.length === 0))
        : present && values.some((v) => matchValue(m, v)),
    );
  });
}

function matchValue(m: unknown, value: unknown): boolean {
  if (!isObject(m)) {
    if (typeof m === 'number' && typeof value === 'number') return m === value; // 300 matches 300.0
    return m === value;
  }
  const [op, arg] = Object.entries(m)[0]!;
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && affix(value, arg, (v, a) => v.startsWith(a));
    case 'suffix':
      return typeof value === 'string' && affix(value, arg, (v, a) => v.endsWith(a));
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && wildcardRegExp(String(arg)).test(value);
    case 'numeric':
      return typeof value === 'number' && numericMatch(value, arg as unknown[]);
    case 'cidr':
      return typeof value === 'string' && cidrContains(String(arg), value);
    case 'anything-but':
      return anythingBut(arg, value);
    default:
      return false;
  }
}

function affix(value: string, arg: unknown, test: (v: string, a: string) => boolean): boolean {
  if (isObject(arg)) return test(value.toLowerCase(), String(arg['equals-ignore-case']).toLowerCase());
  return test(value, String(arg));
}

function anythingBut(arg: unknown, value: unknown): boolean {
  if (Array.isArray(arg)) return !arg.some((a) => matchValue(a, value));
  if (!isObject(arg)) return !matchValue(arg, value);
  // {prefix | suffix | equals-ignore-case | wildcard: string or [strings]}: only strings can match it.
  if (typeof value !== 'string') return false;
  const [op, inner] = Object.entries(arg)[0]!;
  const list: unknown[] = Array.isArray(inner) ? inner : [inner];
  return !list.some((a) => matchValue({ [op]: a }, value));
}

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. */
function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '*') source += '.*';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function numericMatch(value: number, conditions: unknown[]): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const bound = conditions[i + 1] as number;
    const ok = {
      '<': value < bound,
      '<=': value <= bound,
      '=': value === bound,
      '>': value > bound,
      '>=': value >= bound,
    }[conditions[i] as '<' | '<=' | '=' | '>' | '>='];
    if (!ok) return false;
  }
  return true;
}

// --- CIDR ----------------------------------------------------------------------------------------

function parseCidr(cidr: string): { bits: bigint; width: number; prefix: number } | undefined {
  const [ip, len] = cidr.split('/');
  const addr = ip === undefined ? undefined : parseIp(ip);
  if (addr === undefined) return undefined;
  const prefix = len === undefined ? addr.width : Number(len);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > addr.width ||
    (len !== undefined && !/^\d+$/.test(len))
  ) {
    return undefined;
  }
  return { bits: addr.bits, width: addr.width, prefix };
}

function parseIp(ip: string): { bits: bigint; width: number } | undefined {
  if (ip.includes(':')) return parseIpv6(ip);
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return { bits: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n), width: 32 };
}

function parseIpv6(ip: string): { bits: bigint; width: number } | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { bits: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n), width: 128 };
}

function cidrContains(cidr: string, ip: string): boolean {
  const block = parseCidr(cidr);
  const addr = parseIp(ip);
  if (block === undefined || addr === undefined || addr.width !== block.width) return false;
  const shift = BigInt(block.width - block.prefix);
  return addr.bits >> shift === block.bits >> shift;
}
