#!/usr/bin/env node
// `dvs`: the package's bin. Registers tsx's loader so Node 22 runs the TypeScript sources as they are
// (no build step), then runs the command line.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
