import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'cdk.out/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    allowOnly: false,
    // Every suite that needs the local cloud starts its own on free ports; two cores, so keep it modest.
    maxWorkers: 2,
    env: {
      AWS_EMF_ENVIRONMENT: 'Local',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    },
  },
});
