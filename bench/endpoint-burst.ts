// N (30) concurrent CreateEndpoint calls against the local cloud on its default clock (scale:60), each
// endpoint starting its own inference-server process, as the benchmark's burst scenario does.
// Reports how many reached InService, how long each took (real seconds), and any FailureReason.
// Usage: npm run bench:endpoint-burst [-- --endpoints 30 --clock scale:60]
import { CreateEndpointCommand, DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ENDPOINT_DEFINITION } from '../infra/app-definition.ts';
import { DEFAULT_CLOCK, startLocalCloud } from '../local/cloud.ts';
import { createModelAndEndpointConfig } from '../local/deploy-app.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '30' },
    clock: { type: 'string', default: DEFAULT_CLOCK },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:endpoint-burst [-- --endpoints 30 --clock scale:60]\n' +
      'Starts the local cloud, then creates --endpoints SageMaker endpoints at once (one inference-server\n' +
      'process each) and waits until each is InService or Failed. Reports the counts, the real seconds\n' +
      'each took (p50, max) and the FailureReasons.',
  );
  process.exit(0);
}
const count = Number(values.endpoints);
if (!Number.isInteger(count) || count < 1) throw new Error(`--endpoints must be a positive integer`);

const cloud = await startLocalCloud({ clock: values.clock });
const sm = new SageMakerClient({
  ...cloud.clientConfig('sagemaker'),
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
try {
  // The model and endpoint config the app deploys, made the way the deployer makes them.
  await createModelAndEndpointConfig(sm, ENDPOINT_DEFINITION);
  const started = performance.now();
  const names = Array.from({ length: count }, (_, i) => `burst-${i}`);
  await Promise.all(
    names.map((EndpointName) =>
      sm.send(
        new CreateEndpointCommand({
          EndpointName,
          EndpointConfigName: ENDPOINT_DEFINITION.endpointConfigName,
        }),
      ),
    ),
  );
  const settled = await Promise.all(
    names.map(async (EndpointName) => {
      for (;;) {
        const out = await sm.send(new DescribeEndpointCommand({ EndpointName }));
        if (out.EndpointStatus === 'InService' || out.EndpointStatus === 'Failed') {
          return {
            status: out.EndpointStatus,
            reason: out.FailureReason,
            s: (performance.now() - started) / 1000,
          };
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }),
  );
  const inService = settled.filter((e) => e.status === 'InService');
  const failed = settled.filter((e) => e.status === 'Failed');
  const times = inService.map((e) => e.s);
  console.log(
    `endpoint burst: ${count} concurrent CreateEndpoint, clock ${cloud.clock} (a 300 s create), ${availableParallelism()} cores`,
  );
  console.log(`  InService ${inService.length}, Failed ${failed.length}`);
  if (times.length) {
    console.log(
      `  real seconds to InService: p50 ${percentile(times, 50).toFixed(1)}, max ${Math.max(...times).toFixed(1)}`,
    );
  }
  for (const reason of new Set(failed.map((e) => e.reason))) console.log(`  FailureReason: ${reason}`);
  if (failed.length > 0) process.exitCode = 1;
} finally {
  sm.destroy();
  await cloud.stop();
}
