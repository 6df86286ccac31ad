// A `dvs` process for cli/abort.test.ts: the real main() with a fake bench action that reports
// "ready", then (unless told to ignore the signal) waits for Ctrl-C, writes what it "measured" and
// returns 0, as the real runner does.
import { main } from './main.ts';

const ignore = process.argv.includes('--ignore-abort');
process.exitCode = await main(['bench', '--scenario', 'cold'], {
  upload: () => Promise.resolve(0),
  bench: (_options, io) =>
    new Promise((resolve) => {
      io.stdout.write('ready\n');
      if (ignore) {
        setInterval(() => undefined, 1000);
        return;
      }
      io.signal.addEventListener('abort', () => {
        io.stdout.write(`measured so far written (${String((io.signal.reason as Error).name)})\n`);
        resolve(0);
      });
    }),
});
