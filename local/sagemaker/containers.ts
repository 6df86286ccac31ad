// How the emulator runs the model container of an endpoint. SageMaker starts the container when the
// endpoint's instances come up and stops it when the endpoint goes; locally that is a plain process
// on a free loopback port (SAGEMAKER_BIND_TO_PORT), or a server that is already running.
import { fileURLToPath } from 'node:url';
import { freePort } from '../common/ports.ts';
import { spawnWatched } from '../common/child-process.ts';
import { openStorageLink, type StorageLink } from './storage-link.ts';

export interface ContainerRequest {
  endpointName: string;
  variantName: string;
  modelName: string;
  image: string;
  /** The model's ContainerDefinition.Environment. */
  environment: Record<string, string>;
}

export interface RunningContainer {
  /** Base URL; the emulator calls `${url}/ping` and `${url}/invocations`. */
  url: string;
  stop(): Promise<void>;
  /** What a container process wrote so far, for the FailureReason of a start that failed. */
  output?(): string;
  /** Whether a container process has already ended (it will never answer /ping). */
  exited?(): boolean;
  /** The container's process, when it is one here (its CPU time is the instance's CPUUtilization). */
  pid?: number;
  /** Resolves once a container process has ended (SageMaker then replaces the instance). */
  whenExited?: Promise<void>;
  /** Sends a signal to the container's process (the faults freeze, resume and kill it). */
  signal?(signal: NodeJS.Signals): void;
  /** The container's network path to S3, when the emulator gave it one (a fault can cut it). */
  storage?: StorageLink;
}

export type ContainerLauncher = (request: ContainerRequest) => Promise<RunningContainer>;

/** Every endpoint is served by one server that is already running at `url` (tests, a container run by hand). */
export function urlContainer(url: string): ContainerLauncher {
  return () => Promise.resolve({ url: url.replace(/\/$/, ''), stop: () => Promise.resolve() });
}

/**
 * Each endpoint gets its own process of `command args...`, started with the model's environment plus
 * SAGEMAKER_BIND_TO_PORT, as a container started with `serve` would be.
 */
export function processContainer(
  command: string,
  args: string[],
  // eslint-disable-next-line no-restricted-properties -- a container inherits the local cloud's environment (PATH, AWS_*)
  baseEnv: NodeJS.ProcessEnv = process.env,
): ContainerLauncher {
  return async (request) => {
    const port = await freePort();
    const child = spawnWatched(command, args, {
      ...baseEnv,
      ...request.environment,
      SAGEMAKER_BIND_TO_PORT: String(port),
    });
    return {
      url: `http://127.0.0.1:${port}`,
      stop: () => child.stop(),
      output: () => child.output(),
      exited: () => child.exited(),
      whenExited: child.whenExited,
      ...(child.pid > 0
        ? {
            pid: child.pid,
            signal: (signal: NodeJS.Signals) => {
              if (!child.exited()) process.kill(child.pid, signal);
            },
          }
        : {}),
    };
  };
}

/**
 * The project's inference server (container/), one process per endpoint, reaching the local S3
 * through the standard AWS SDK settings, exactly as the image does on SageMaker. Its S3 traffic goes
 * through its own storage link (storage-link.ts), which the emulator's faults can cut.
 */
export function inferenceServerContainer(s3Endpoint: string, region: string): ContainerLauncher {
  const main = fileURLToPath(new URL('../../container/src/main.ts', import.meta.url));
  return async (request) => {
    const storage = await openStorageLink(s3Endpoint);
    try {
      const container = await processContainer(process.execPath, ['--import', 'tsx', main, 'serve'], {
        // eslint-disable-next-line no-restricted-properties -- the server inherits PATH and the like
        ...process.env,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_S3: storage.url,
      })(request);
      return {
        ...container,
        storage,
        async stop() {
          await container.stop();
          await storage.close();
        },
      };
    } catch (err) {
      await storage.close();
      throw err;
    }
  };
}

/** A launcher for the local cloud when no container is configured: every start fails, saying why. */
export const noContainer: ContainerLauncher = () =>
  Promise.reject(new Error('no model container is configured for the local SageMaker emulator'));
