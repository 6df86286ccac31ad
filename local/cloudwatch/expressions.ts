// The part of CloudWatch metric math that dashboards here use: numbers, query ids, + - * / and
// parentheses, METRICS() / METRICS('prefix'), [a, b] arrays, and SUM, AVG, MIN, MAX, ABS, FILL.
// An arithmetic operation between two series keeps the timestamps both have (as CloudWatch does);
// SUM/AVG/MIN/MAX over an array combine, per timestamp, the series that have a point there.
// Anything else is refused by name rather than answered wrongly.
import { CloudWatchError } from './errors.ts';
import type { Series } from './metrics.ts';

type Value = number | Series | Series[];

type Token =
  | { kind: 'num'; value: number }
  | { kind: 'id'; value: string }
  | { kind: 'str'; value: string }
  | { kind: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|'([^']*)'|"([^"]*)"|([-+*/(),[\]]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m)
      throw CloudWatchError.invalid(`Unsupported character in expression at position ${at + 1}: ${text}`);
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', value: m[2] });
    else if (m[3] !== undefined || m[4] !== undefined) tokens.push({ kind: 'str', value: m[3] ?? m[4]! });
    else tokens.push({ kind: 'op', value: m[5]! });
    at = re.lastIndex;
  }
  return tokens;
}

/** Evaluates `expression` over the series of the queries it names (by id, in query order). */
export function evaluate(expression: string, series: ReadonlyMap<string, Series>): Series {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const take = (op?: string): Token => {
    const t = tokens[i++];
    if (!t || (op !== undefined && !(t.kind === 'op' && t.value === op)))
      throw CloudWatchError.invalid(`Syntax error in expression: ${expression}`);
    return t;
  };
  const isOp = (op: string): boolean => peek()?.kind === 'op' && peek()!.value === op;

  const sum = (): Value => {
    let left = product();
    while (isOp('+') || isOp('-')) {
      const op = take().value;
      left = binary(left, product(), op === '+' ? (a, b) => a + b : (a, b) => a - b);
    }
    return left;
  };
  const product = (): Value => {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = take().value;
      left = binary(left, unary(), op === '*' ? (a, b) => a * b : (a, b) => a / b);
    }
    return left;
  };
  const unary = (): Value => {
    if (isOp('-')) {
      take();
      return binary(0, unary(), (a, b) => a - b);
    }
    return primary();
  };
  const primary = (): Value => {
    const t = take();
    if (t.kind === 'num') return t.value;
    if (t.kind === 'op' && t.value === '(') {
      const v = sum();
      take(')');
      return v;
    }
    if (t.kind === 'op' && t.value === '[') {
      const items: Series[] = [];
      if (!isOp(']')) {
        do items.push(...asArray(sum(), expression));
        while (isOp(',') && take());
      }
      take(']');
      return items;
    }
    if (t.kind === 'id') {
      if (!isOp('(')) {
        const s = series.get(t.value);
        if (!s) throw CloudWatchError.invalid(`Unknown metric ${t.value} in expression: ${expression}`);
        return s;
      }
      const fn = t.value.toUpperCase();
      if (!FUNCTIONS.has(fn))
        throw CloudWatchError.invalid(
          `The local CloudWatch does not support the function ${fn} (in: ${expression})`,
        );
      take('(');
      const args: Value[] = [];
      if (!isOp(')')) {
        do
          args.push(
            peek()?.kind === 'str' ? ((take() as { value: string }).value as unknown as Value) : sum(),
          );
        while (isOp(',') && take());
      }
      take(')');
      return call(fn, args, series, expression);
    }
    throw CloudWatchError.invalid(`Syntax error in expression: ${expression}`);
  };

  const result = sum();
  if (i !== tokens.length) throw CloudWatchError.invalid(`Syntax error in expression: ${expression}`);
  if (typeof result === 'number') return { timestamps: [], values: [] };
  if (Array.isArray(result)) {
    if (result.length !== 1)
      throw CloudWatchError.invalid(
        `The expression must return one time series, it returns ${result.length}: ${expression}`,
      );
    return result[0]!;
  }
  return result;
}

const FUNCTIONS = new Set(['METRICS', 'SUM', 'AVG', 'MIN', 'MAX', 'ABS', 'FILL']);

function call(name: string, args: Value[], series: ReadonlyMap<string, Series>, expression: string): Value {
  switch (name) {
    case 'METRICS': {
      const prefix = args[0] as unknown as string | undefined;
      return [...series.entries()]
        .filter(([id]) => prefix === undefined || id.startsWith(prefix))
        .map(([, s]) => s);
    }
    case 'SUM':
      return combine(args, expression, (v) => v.reduce((a, b) => a + b, 0));
    case 'AVG':
      return combine(args, expression, (v) => v.reduce((a, b) => a + b, 0) / v.length);
    case 'MIN':
      return combine(args, expression, (v) => Math.min(...v));
    case 'MAX':
      return combine(args, expression, (v) => Math.max(...v));
    case 'ABS':
      return binary(args[0] ?? 0, 0, (a) => Math.abs(a));
    case 'FILL': {
      // FILL(series, value): CloudWatch fills the periods of the query's range; here, the timestamps any
      // series of the request has, which is what a dashboard widget shows.
      const target = args[0];
      const fill = args[1];
      if (typeof fill !== 'number')
        throw CloudWatchError.invalid(`FILL takes a number as its second argument: ${expression}`);
      const all = [...new Set([...series.values()].flatMap((s) => s.timestamps))].sort((a, b) => a - b);
      const fillOne = (s: Series): Series => {
        const at = new Map(s.timestamps.map((t, i) => [t, s.values[i]!]));
        return { timestamps: all, values: all.map((t) => at.get(t) ?? fill) };
      };
      if (Array.isArray(target)) return target.map(fillOne);
      if (typeof target === 'number') return target;
      return fillOne(target!);
    }
    default:
      throw CloudWatchError.invalid(
        `The local CloudWatch does not support the function ${name} (in: ${expression})`,
      );
  }
}

function asArray(v: Value, expression: string): Series[] {
  if (typeof v === 'number')
    throw CloudWatchError.invalid(`A number cannot be part of a metric array: ${expression}`);
  return Array.isArray(v) ? v : [v];
}

/** One series from an array of series (or the arguments), each timestamp combined over the series that have it. */
function combine(args: Value[], expression: string, f: (values: number[]) => number): Value {
  const all = args.flatMap((a) => asArray(a, expression));
  const at = new Map<number, number[]>();
  for (const s of all) s.timestamps.forEach((t, i) => at.set(t, [...(at.get(t) ?? []), s.values[i]!]));
  const timestamps = [...at.keys()].sort((a, b) => a - b);
  return { timestamps, values: timestamps.map((t) => f(at.get(t)!)) };
}

function binary(a: Value, b: Value, f: (x: number, y: number) => number): Value {
  if (Array.isArray(a)) return a.map((s) => binary(s, b, f) as Series);
  if (Array.isArray(b)) return b.map((s) => binary(a, s, f) as Series);
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  if (typeof a === 'number') return map(b as Series, (y) => f(a, y));
  if (typeof b === 'number') return map(a, (x) => f(x, b));
  const other = new Map(b.timestamps.map((t, i) => [t, b.values[i]!]));
  const out: Series = { timestamps: [], values: [] };
  a.timestamps.forEach((t, i) => {
    const y = other.get(t);
    if (y === undefined) return;
    out.timestamps.push(t);
    out.values.push(f(a.values[i]!, y));
  });
  return out;
}

function map(s: Series, f: (x: number) => number): Series {
  return { timestamps: s.timestamps, values: s.values.map(f) };
}
