import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS } from './settings.ts';

const from = (context: Record<string, unknown>) => readSettings((key) => context[key]);

describe('stack settings from context', () => {
  it('defaults every setting, and takes numbers given as strings as `-c key=value` gives them', () => {
    const defaults = from({});
    expect(defaults).toEqual(Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.default])));
    expect(from({ idleWindowSeconds: '900', waitMode: 'event' })).toMatchObject({
      idleWindowSeconds: 900,
      waitMode: 'event',
    });
  });

  it('names every bad setting, what it accepts and where to set it', () => {
    expect(() =>
      from({ waitMode: 'sometimes', instanceType: 'g5.xlarge', pollSeconds: '0', logRetentionDays: 10 }),
    ).toThrow(
      /instanceType="g5.xlarge" is not a SageMaker .*; waitMode="sometimes" is not one of poll, event; pollSeconds="0" is not a positive number; logRetentionDays=10 is not one of CloudWatch Logs' retention periods.*-c key=value/,
    );
    expect(() => from({ pollSeconds: 30, pollMaxSeconds: 10 })).toThrow(
      /pollMaxSeconds must not be less than pollSeconds/,
    );
  });
});
