import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Units } from '../report/results.ts';
import { meanCost, monthlyCost, perThousand, priceUnits, quantities, type Component } from './cost.ts';
import { loadPrices, PRICE_KEYS } from './prices.ts';

const none: Units = {
  stepFunctions: { stateTransitions: 0 },
  durable: {
    operationsBilled: 0,
    operationsDistinct: 0,
    bytesWritten: 0,
    bytesRetained: 0,
    retentionDays: 0,
  },
  lambda: { requests: 0, gbSeconds: 0, architecture: 'arm64' },
  dynamodb: { readRequestUnits: 0, writeRequestUnits: 0 },
  eventbridge: { customEvents: 0, awsServiceEvents: 0 },
  s3: { tier1Requests: 0, tier2Requests: 0 },
  cloudwatch: { metricValues: 0, logBytes: 0 },
  sagemaker: { endpointStarts: 0, instanceSeconds: 0, idleTailSeconds: 0 },
};
const GB = 1024 ** 3;
const table = loadPrices();
const dir = mkdtempSync(join(tmpdir(), 'prices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the price table', () => {
  it('has every price with its source and the date it was read', () => {
    for (const key of PRICE_KEYS) {
      const price = table.prices[key]!;
      expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(price.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(table.region).toBe('us-east-1');
  });

  it('takes an override file key by key', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(
      path,
      JSON.stringify({
        region: 'eu-west-1',
        prices: {
          'durable.operation': {
            usd: 0.00001,
            per: 'op',
            source: 'https://example.com/p',
            readOn: '2027-01-01',
          },
        },
      }),
    );
    const t = loadPrices(path);
    expect(t.region).toBe('eu-west-1');
    expect(t.prices['durable.operation']!.usd).toBe(0.00001);
    expect(t.prices['lambda.request']!.usd).toBe(table.prices['lambda.request']!.usd);
  });

  it('refuses a bad override file, naming the field', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({
        prices: {
          'lambda.request': { usd: -1, per: 'r', source: 'x', readOn: 'soon' },
          'lambda.requets': {},
        },
      }),
    );
    const error = (() => {
      try {
        loadPrices(path);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(error).toContain(path);
    expect(error).toContain('/prices/lambda.request/usd: must be >= 0');
    expect(error).toContain('/prices/lambda.request/source');
    expect(error).toContain('/prices/lambda.request/readOn');
    expect(error).toContain('lambda.requets');
    expect(() => loadPrices(join(dir, 'missing.json'))).toThrow(/cannot read price override file/);
  });
});

describe('pricing units', () => {
  // Each dimension once, priced by hand from prices.json.
  const cases: [string, Units, string, number, Component][] = [
    [
      '1,000 transitions',
      { ...none, stepFunctions: { stateTransitions: 1000 } },
      'stepFunctions.stateTransition',
      0.025,
      'orchestration',
    ],
    [
      '1M durable operations',
      { ...none, durable: { ...none.durable, operationsBilled: 1e6 } },
      'durable.operation',
      8,
      'orchestration',
    ],
    [
      '1 GB checkpointed',
      { ...none, durable: { ...none.durable, bytesWritten: GB } },
      'durable.dataWrittenGb',
      0.25,
      'storage',
    ],
    // 1 GB kept 730 h (a month of 30.4 days) is one GB-month.
    [
      '1 GB retained a month',
      { ...none, durable: { ...none.durable, bytesRetained: GB, retentionDays: 730 / 24 } },
      'durable.dataRetainedGbMonth',
      0.15,
      'storage',
    ],
    [
      '1M Lambda requests',
      { ...none, lambda: { ...none.lambda, requests: 1e6 } },
      'lambda.request',
      0.2,
      'compute',
    ],
    [
      '1,000 GB-s arm64',
      { ...none, lambda: { ...none.lambda, gbSeconds: 1000 } },
      'lambda.gbSecondArm64',
      0.0133334,
      'compute',
    ],
    [
      '1,000 GB-s x86',
      { ...none, lambda: { requests: 0, gbSeconds: 1000, architecture: 'x86_64' } },
      'lambda.gbSecondX86',
      0.0166667,
      'compute',
    ],
    [
      '1M read units',
      { ...none, dynamodb: { readRequestUnits: 1e6, writeRequestUnits: 0 } },
      'dynamodb.readRequestUnit',
      0.125,
      'storage',
    ],
    [
      '1M write units',
      { ...none, dynamodb: { readRequestUnits: 0, writeRequestUnits: 1e6 } },
      'dynamodb.writeRequestUnit',
      0.625,
      'storage',
    ],
    [
      '1,000 PUTs',
      { ...none, s3: { tier1Requests: 1000, tier2Requests: 0 } },
      's3.tier1Request',
      0.005,
      'storage',
    ],
    [
      '1,000 GETs',
      { ...none, s3: { tier1Requests: 0, tier2Requests: 1000 } },
      's3.tier2Request',
      0.0004,
      'storage',
    ],
    [
      '1M custom events',
      { ...none, eventbridge: { customEvents: 1e6, awsServiceEvents: 5 } },
      'eventbridge.customEvent',
      1,
      'orchestration',
    ],
    [
      '1 GB of logs',
      { ...none, cloudwatch: { metricValues: 3, logBytes: GB } },
      'cloudwatch.logIngestedGb',
      0.5,
      'storage',
    ],
    [
      '1 instance-hour',
      { ...none, sagemaker: { endpointStarts: 1, instanceSeconds: 3600, idleTailSeconds: 600 } },
      'sagemaker.instanceHour.ml.g5.xlarge',
      1.408,
      'gpu',
    ],
  ];
  it.each(cases)('%s', (_name, units, key, usd, component) => {
    const cost = priceUnits(units, 'ml.g5.xlarge', table);
    expect(cost.total).toBeCloseTo(usd, 9);
    expect(cost.byComponent[component]).toBeCloseTo(usd, 9);
    expect(cost.lines.filter((l) => l.usd > 0).map((l) => l.key)).toEqual([key]);
  });

  it('prices every key of the table but the fixed monthly one', () => {
    const x86: Units = { ...none, lambda: { ...none.lambda, architecture: 'x86_64' } };
    const keys = new Set([none, x86].flatMap((u) => quantities(u, 'ml.g5.xlarge').map(([key]) => key)));
    for (const key of PRICE_KEYS) if (key !== 'cloudwatch.customMetricMonth') expect(keys).toContain(key);
  });

  it('scales to 1,000 jobs and averages jobs line by line', () => {
    const a = priceUnits({ ...none, stepFunctions: { stateTransitions: 17 } }, 'ml.g5.xlarge', table);
    const b = priceUnits({ ...none, stepFunctions: { stateTransitions: 68 } }, 'ml.g5.xlarge', table);
    expect(perThousand(a).total).toBeCloseTo(17 * 0.025, 9);
    const mean = meanCost([a, b]);
    expect(mean.total).toBeCloseTo(((17 + 68) / 2) * 0.000025, 12);
    expect(mean.lines.find((l) => l.key === 'stepFunctions.stateTransition')!.units).toBe(42.5);
  });

  it('shows free tiers without subtracting them, and subtracts them only when asked', () => {
    const job = priceUnits({ ...none, stepFunctions: { stateTransitions: 20 } }, 'ml.g5.xlarge', table);
    expect(table.prices['stepFunctions.stateTransition']!.freeTier).toEqual({ units: 4000, per: 'month' });
    // 1,000 jobs × 20 = 20,000 transitions: $0.50 billed, $0.40 after the 4,000 free.
    expect(monthlyCost(job, 1000, table, { freeTier: false })).toBeCloseTo(0.5, 9);
    expect(monthlyCost(job, 1000, table, { freeTier: true })).toBeCloseTo(0.4, 9);
    expect(monthlyCost(job, 100, table, { freeTier: true, fixedUsd: 0.3 })).toBeCloseTo(0.3, 9);
  });

  it('names the missing price of an unknown instance type and the fix', () => {
    expect(() => priceUnits(none, 'ml.p5.48xlarge', table)).toThrow(
      /no 'sagemaker\.instanceHour\.ml\.p5\.48xlarge': add it to bench\/cost\/prices\.json or to a --prices override file/,
    );
  });
});
