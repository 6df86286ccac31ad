// `npm run up -- --function NAME=path/to/module.ts[:export]`: what a user types to serve their own handler.
import type { DeploySpec } from './deploy.ts';

/** The alias every function deployed from the command line gets (durable ones are invoked through it). */
export const CLI_ALIAS = 'live';

const FLAG = /^([a-zA-Z0-9-_]{1,64})=(.+?\.(?:ts|mts|cts|js|mjs|cjs))(?::([A-Za-z_$][\w$]*))?$/;

/** Parses one --function value; throws a message that says what is expected. */
export function parseFunctionFlag(value: string): DeploySpec {
  const match = FLAG.exec(value);
  if (!match) {
    throw new Error(
      `--function expects NAME=path/to/module.ts[:export] (NAME: letters, digits, - or _; a .ts or .js module), got '${value}'`,
    );
  }
  return {
    name: match[1]!,
    entry: match[2]!,
    exportName: match[3] ?? 'handler',
    alias: CLI_ALIAS,
  };
}
