// The documented examples of every operator (AWS EventBridge User Guide, "Comparison operators for
// use in event patterns" and "Event patterns"), each with an event that matches and one that does not.
import { describe, expect, it } from 'vitest';
import {
  InvalidEventPatternError,
  matchesPattern,
  validatePattern,
  type EventPattern,
} from './event-pattern.ts';

function check(pattern: EventPattern, yes: unknown[], no: unknown[]): void {
  validatePattern(pattern);
  for (const event of yes) expect(matchesPattern(pattern, event), JSON.stringify(event)).toBe(true);
  for (const event of no) expect(matchesPattern(pattern, event), JSON.stringify(event)).toBe(false);
}

const S3_EVENT = {
  version: '0',
  source: 'aws.s3',
  'detail-type': 'Object Created',
  resources: ['arn:aws:s3:::uploads'],
  detail: {
    bucket: { name: 'uploads' },
    object: { key: 'users/u1/input/chair_image.png', size: 5, etag: 'b1946ac9' },
    'source-ip-address': '10.0.0.25',
    reason: 'PutObject',
  },
};

describe('matchesPattern', () => {
  it('exact values, AND across fields, OR within an array', () => {
    check(
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted'],
        detail: { bucket: { name: ['uploads'] } },
      },
      [S3_EVENT],
      [
        { ...S3_EVENT, source: 'aws.ec2' },
        { ...S3_EVENT, detail: { ...S3_EVENT.detail, bucket: { name: 'other' } } },
      ],
    );
  });

  it('numbers compare as numbers; strings and numbers never equal', () => {
    check(
      { detail: { size: [300] } },
      [{ detail: { size: 300.0 } }],
      [{ detail: { size: '300' } }, { detail: { size: 301 } }],
    );
  });

  it('null and the empty string match only themselves', () => {
    check({ responseElements: [null] }, [{ responseElements: null }], [{}, { responseElements: '' }]);
    check({ eventVersion: [''] }, [{ eventVersion: '' }], [{ eventVersion: null }, {}]);
  });

  it('prefix, also ignoring case', () => {
    check(
      { time: [{ prefix: '2017-10-02' }] },
      [{ time: '2017-10-02T18:43:48Z' }],
      [{ time: '2017-10-03T00:00:00Z' }, { time: 20171002 }],
    );
    check(
      { source: [{ prefix: { 'equals-ignore-case': 'EXAMPLE' } }] },
      [{ source: 'example.app' }, { source: 'ExAmPlE' }],
      [{ source: 'my.example' }],
    );
  });

  it('suffix, also ignoring case', () => {
    check(
      { FileName: [{ suffix: '.png' }] },
      [{ FileName: 'image.png' }],
      [{ FileName: 'image.PNG' }, { FileName: 'png.txt' }],
    );
    check(
      { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] },
      [{ FileName: 'image.PNG' }],
      [{ FileName: 'image.jpg' }],
    );
  });

  it('equals-ignore-case', () => {
    check(
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      [{ 'detail-type': 'EC2 Instance State-change Notification' }],
      [{ 'detail-type': 'EC2 Instance State-change' }],
    );
  });

  it('wildcard, with escaped stars', () => {
    check(
      { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
      [{ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' }],
      [{ EventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/default' }],
    );
    check(
      { key: [{ wildcard: 'dir/*.png' }] },
      [{ key: 'dir/a/b.png' }, { key: 'dir/.png' }],
      [{ key: 'dir/a.png.txt' }],
    );
    check({ key: [{ wildcard: 'a\\*b' }] }, [{ key: 'a*b' }], [{ key: 'axb' }]);
  });

  it('anything-but in all its forms, and never for a missing field', () => {
    check(
      { state: [{ 'anything-but': 'initializing' }] },
      [{ state: 'running' }],
      [{ state: 'initializing' }, {}],
    );
    check(
      { state: [{ 'anything-but': ['stopped', 'overloaded'] }] },
      [{ state: 'running' }],
      [{ state: 'stopped' }],
    );
    check(
      { 'x-limit': [{ 'anything-but': 123 }] },
      [{ 'x-limit': 456 }, { 'x-limit': '123' }],
      [{ 'x-limit': 123 }],
    );
    check({ 'x-limit': [{ 'anything-but': [100, 200, 300] }] }, [{ 'x-limit': 301 }], [{ 'x-limit': 200 }]);
    check(
      { state: [{ 'anything-but': { prefix: 'init' } }] },
      [{ state: 'running' }],
      [{ state: 'initializing' }, { state: 5 }],
    );
    check(
      { FileName: [{ 'anything-but': { suffix: '.txt' } }] },
      [{ FileName: 'a.png' }],
      [{ FileName: 'a.txt' }],
    );
    check(
      { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] },
      [{ state: 'running' }],
      [{ state: 'STOPPED' }, { state: 'overloaded' }],
    );
    check(
      { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
      [{ FilePath: '/usr/bin/x' }],
      [{ FilePath: '/usr/lib/x' }],
    );
  });

  it('numeric ranges', () => {
    check(
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      [{ detail: { 'c-count': 5 } }, { detail: { 'c-count': 0.1 } }],
      [{ detail: { 'c-count': 0 } }, { detail: { 'c-count': 6 } }, { detail: { 'c-count': '3' } }],
    );
    check({ n: [{ numeric: ['=', 3.018e2] }] }, [{ n: 301.8 }], [{ n: 301 }]);
    check({ n: [{ numeric: ['>=', 10] }, { numeric: ['<', 0] }] }, [{ n: 10 }, { n: -1 }], [{ n: 5 }]);
  });

  it('exists true and false, on leaves only', () => {
    check(
      { detail: { state: [{ exists: true }] } },
      [{ detail: { state: 'on' } }, { detail: { state: null } }],
      [{ detail: {} }, { detail: { state: { a: 1 } } }],
    );
    check(
      { detail: { 'c-count': [{ exists: false }] } },
      [{ detail: {} }, { detail: { other: 1 } }],
      [{ detail: { 'c-count': 1 } }],
    );
  });

  it('cidr, IPv4 and IPv6', () => {
    check(
      { detail: { 'source-ip-address': [{ cidr: '10.0.0.0/24' }] } },
      [S3_EVENT],
      [{ detail: { 'source-ip-address': '10.0.1.25' } }, { detail: { 'source-ip-address': 'not-an-ip' } }],
    );
    check(
      { ip: [{ cidr: '2001:db8::/32' }] },
      [{ ip: '2001:db8:0:1::5' }],
      [{ ip: '2001:db9::1' }, { ip: '10.0.0.1' }],
    );
    check({ ip: [{ cidr: '192.168.1.7/32' }] }, [{ ip: '192.168.1.7' }], [{ ip: '192.168.1.8' }]);
  });

  it('$or, at the top and nested', () => {
    check(
      {
        detail: {
          $or: [
            { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
            { 'd-count': [{ numeric: ['<', 10] }] },
            { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
          ],
        },
      },
      [{ detail: { 'c-count': 3 } }, { detail: { 'd-count': 9 } }, { detail: { 'x-limit': 301.8 } }],
      [{ detail: { 'c-count': 7, 'd-count': 10 } }],
    );
    check(
      { source: ['a'], $or: [{ x: [1] }, { y: [2] }] },
      [{ source: 'a', y: 2 }],
      [{ source: 'b', y: 2 }, { source: 'a' }],
    );
  });

  it('arrays in the event match when any element does', () => {
    const event = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1::image/ami-0b26f5fc',
      ],
      detail: { items: [{ kind: 'a' }, { kind: 'b' }] },
    };
    check(
      { resources: ['arn:aws:ec2:us-east-1::image/ami-0b26f5fc'] },
      [event],
      [{ resources: ['x'] }, { resources: [] }],
    );
    check({ detail: { items: { kind: ['b'] } } }, [event], [{ detail: { items: [{ kind: 'c' }] } }]);
  });

  it('routes the project rule: S3 image uploads to the uploads bucket', () => {
    const rule = {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['uploads'] }, object: { key: [{ suffix: '_image.png' }] } },
    };
    const mask = {
      ...S3_EVENT,
      detail: { ...S3_EVENT.detail, object: { key: 'users/u1/input/chair_mask.png' } },
    };
    check(rule, [S3_EVENT], [mask, { ...S3_EVENT, 'detail-type': 'Object Deleted' }]);
  });
});

describe('validatePattern', () => {
  it.each([
    [[], 'must be a JSON object'],
    [{ source: 'aws.s3' }, 'a leaf must be an array'],
    [{ source: [] }, 'may not be empty'],
    [{ source: [{ regex: '.*' }] }, 'unknown matcher'],
    [{ n: [{ numeric: ['>', '5'] }] }, "'numeric' takes [operator, number] pairs"],
    [{ n: [{ numeric: ['~', 5] }] }, "'numeric' takes [operator, number] pairs"],
    [{ ip: [{ cidr: '10.0.0.0/33' }] }, "'cidr' takes an IPv4 or IPv6 CIDR block"],
    [{ x: [{ exists: 'yes' }] }, "'exists' takes true or false"],
    [{ x: [{ wildcard: 'a**b' }] }, 'consecutive wildcards'],
    [{ x: [{ 'anything-but': { regex: 'a' } }] }, "'anything-but' takes"],
    [{ $or: [{ a: [1] }] }, '$or takes an array of at least two'],
    [{ a: [[1]] }, 'nested arrays'],
  ])('refuses %j', (pattern, message) => {
    expect(() => validatePattern(pattern)).toThrow(InvalidEventPatternError);
    expect(() => validatePattern(pattern)).toThrow(message);
  });
});
