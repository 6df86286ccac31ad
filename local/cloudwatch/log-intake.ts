// A function's console output, as its log group receives it on AWS: each whole line is offered to
// the local CloudWatch (an EMF line becomes metrics, as CloudWatch Logs extracts them), and the text
// goes on to where the caller wants the function's logs (default: this process's stdout).
import type { LocalCloudWatch } from './server.ts';

export type FunctionOutput = (functionName: string, text: string) => void;

export function emfIntake(
  cloudWatch: Pick<LocalCloudWatch, 'ingestLogLine'>,
  forward?: FunctionOutput,
): FunctionOutput {
  // Output arrives in chunks that may end mid-line: keep each function's unfinished line.
  const partial = new Map<string, string>();
  return (functionName, text) => {
    const lines = ((partial.get(functionName) ?? '') + text).split('\n');
    partial.set(functionName, lines.pop() ?? '');
    for (const line of lines) cloudWatch.ingestLogLine(line);
    if (forward) forward(functionName, text);
    else process.stdout.write(text);
  };
}
