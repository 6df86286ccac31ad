import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { configToEnv, endpointNameFor, parseConfig } from './config.ts';

const REQUIRED = {
  AWS_REGION: 'eu-west-1',
  TABLE_NAME: 'durable-vs-sfn',
  BUCKET_NAME: 'uploads',
  ORCHESTRATOR: 'ldf',
  ENDPOINT_NAME: 'reconstruct-3d',
};

describe('parseConfig', () => {
  it('parses required settings and fills documented defaults', () => {
    const config = parseConfig(REQUIRED);
    expect(config).toEqual({
      region: 'eu-west-1',
      tableName: 'durable-vs-sfn',
      bucket: 'uploads',
      orchestrator: 'ldf',
      endpointName: 'reconstruct-3d',
      waitMode: 'poll',
      endpointMode: 'own',
      idleWindowSeconds: 600,
      leaseTtlSeconds: 1800,
      maskWaitSeconds: 300,
      timeScale: 1,
      eventBusName: 'default',
      jobRetentionDays: 30,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every missing setting in one error', () => {
    let err: unknown;
    try {
      parseConfig({ AWS_REGION: 'us-east-1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).name).toBe('ConfigError');
    for (const name of ['TABLE_NAME', 'BUCKET_NAME', 'ORCHESTRATOR', 'ENDPOINT_NAME']) {
      expect((err as Error).message).toContain(`${name} is not set`);
    }
  });

  it.each([
    ['ORCHESTRATOR', 'both', 'one of sf, ldf'],
    ['WAIT_MODE', 'push', 'one of poll, event'],
    ['ENDPOINT_MODE', 'mine', 'one of own, shared'],
    ['TIME_SCALE', '0', 'a positive number'],
    ['IDLE_WINDOW_SECONDS', 'ten', 'a positive number'],
    ['LEASE_TTL_SECONDS', ' ', 'a positive number'],
    ['BUCKET_NAME', 'Uploads_Bucket', 'an S3 bucket name'],
    ['AWS_REGION', 'mars', 'an AWS region'],
    ['ENDPOINT_NAME', 'bad_name', 'a SageMaker endpoint name'],
  ])('rejects %s=%j, saying what it accepts', (name, value, expected) => {
    expect(() => parseConfig({ ...REQUIRED, [name]: value })).toThrow(
      new RegExp(`${name}='${value}' is not ${expected}`),
    );
  });

  it('round-trips through configToEnv', () => {
    const config = parseConfig({ ...REQUIRED, WAIT_MODE: 'event', TIME_SCALE: '60' });
    expect(parseConfig(configToEnv(config))).toEqual(config);
  });
});

describe('endpointNameFor', () => {
  it('gives each orchestrator its own endpoint by default and one name when shared', () => {
    const base = { endpointName: 'gpu', endpointMode: 'own' as const };
    expect(endpointNameFor({ ...base, orchestrator: 'sf' })).toBe('gpu-sf');
    expect(endpointNameFor({ ...base, orchestrator: 'ldf' })).toBe('gpu-ldf');
    expect(endpointNameFor({ ...base, endpointMode: 'shared', orchestrator: 'sf' })).toBe('gpu');
  });
});
