import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { CONFIG_DEFAULTS, configToEnv, endpointNameFor, orchestratorOf, parseConfig } from './config.ts';

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
      endpointConfigName: 'reconstruct-3d-config',
      waitMode: 'poll',
      idleWindowSeconds: 600,
      leaseTtlSeconds: 1800,
      maskWaitSeconds: 300,
      endpointWaitSeconds: 1800,
      pollSeconds: 5,
      pollMaxSeconds: 60,
      eventFallbackSeconds: 600,
      stalledStartSeconds: 120,
      eventBusName: 'default',
      jobRetentionDays: 30,
      s3ForcePathStyle: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('CONFIG_DEFAULTS are what an environment without the optional settings parses to', () => {
    const { region, tableName, bucket, orchestrator, endpointName, ...defaulted } = parseConfig(REQUIRED);
    expect({ region, tableName, bucket, orchestrator, endpointName }).toEqual({
      region: 'eu-west-1',
      tableName: 'durable-vs-sfn',
      bucket: 'uploads',
      orchestrator: 'ldf',
      endpointName: 'reconstruct-3d',
    });
    expect(CONFIG_DEFAULTS).toEqual(defaulted);
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
    for (const name of ['TABLE_NAME', 'BUCKET_NAME', 'ENDPOINT_NAME']) {
      expect((err as Error).message).toContain(`${name} is not set`);
    }
  });

  it('leaves ORCHESTRATOR unset for handlers that serve both, and names it where one is needed', () => {
    const { ORCHESTRATOR: _, ...waker } = REQUIRED;
    const config = parseConfig(waker);
    expect(config.orchestrator).toBeUndefined();
    expect(() => orchestratorOf(config)).toThrow(/ORCHESTRATOR is not set/);
    expect(orchestratorOf(parseConfig(REQUIRED))).toBe('ldf');
  });

  it('refuses a poll cap below the first poll interval', () => {
    expect(() => parseConfig({ ...REQUIRED, POLL_SECONDS: '10', POLL_MAX_SECONDS: '5' })).toThrow(
      /POLL_MAX_SECONDS must not be less than POLL_SECONDS/,
    );
  });

  it.each([
    ['ORCHESTRATOR', 'both', 'one of sf, ldf'],
    ['WAIT_MODE', 'push', 'one of poll, event'],
    ['S3_FORCE_PATH_STYLE', 'yes', 'true or false'],
    ['IDLE_WINDOW_SECONDS', 'ten', 'a positive number'],
    ['LEASE_TTL_SECONDS', ' ', 'a positive number'],
    ['EVENT_FALLBACK_SECONDS', '-60', 'a positive number'],
    ['BUCKET_NAME', 'Uploads_Bucket', 'an S3 bucket name'],
    ['AWS_REGION', 'mars', 'an AWS region'],
    ['ENDPOINT_NAME', 'bad_name', 'a SageMaker endpoint name'],
  ])('rejects %s=%j, saying what it accepts', (name, value, expected) => {
    expect(() => parseConfig({ ...REQUIRED, [name]: value })).toThrow(
      new RegExp(`${name}='${value}' is not ${expected}`),
    );
  });

  it('round-trips through configToEnv', () => {
    const config = parseConfig({ ...REQUIRED, WAIT_MODE: 'event', IDLE_WINDOW_SECONDS: '60' });
    expect(parseConfig(configToEnv(config))).toEqual(config);
  });
});

describe('endpointNameFor', () => {
  it('gives each orchestrator its own endpoint', () => {
    expect(endpointNameFor({ endpointName: 'gpu' }, 'sf')).toBe('gpu-sf');
    expect(endpointNameFor({ endpointName: 'gpu' }, 'ldf')).toBe('gpu-ldf');
  });
});
