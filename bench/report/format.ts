// Number formatting and Markdown tables, one way for the whole report.

/** Dollars: cents for sums of a dollar or more, three significant digits below. */
export function usd(x: number): string {
  if (x === 0) return '$0';
  if (Math.abs(x) >= 1) return `$${x.toFixed(2)}`;
  return `$${x.toPrecision(3)}`;
}

export const seconds = (x: number | undefined): string =>
  x === undefined ? 'n/a' : Math.abs(x) >= 100 ? `${x.toFixed(0)} s` : `${x.toFixed(1)} s`;

/** Whole numbers with separators; small fractions to three significant digits. */
export const num = (x: number, digits = 1): string =>
  Number.isInteger(x) ? x.toLocaleString('en-US') : Math.abs(x) < 0.1 ? x.toPrecision(3) : x.toFixed(digits);

/** Four significant digits, trailing zeros dropped (units per job of any size). */
export const sig = (x: number): string => String(Number(x.toPrecision(4)));

export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A Markdown table; cells are escaped for pipes. */
export function table(head: string[], rows: string[][], align?: ('l' | 'r')[]): string[] {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const rule = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((r, i) => `| ${(i === 1 ? r : r.map(esc)).join(' | ')} |`);
}
