// Checks a person would otherwise learn about from a stack trace.
const MIN_NODE = 22;

/** Exits with a message naming the fix when this runs on a Node older than the project needs. */
export function requireNode22(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE) {
    console.error(
      `This project needs Node ${MIN_NODE}; this is Node ${process.versions.node} (${process.execPath}).\n` +
        'Run it through npm after `npm ci` (e.g. `npm start`, `npm run up`): npm puts the Node 22 that the\n' +
        'project installs from the npm registry (node_modules/.bin/node) first on the PATH.',
    );
    process.exit(1);
  }
}
