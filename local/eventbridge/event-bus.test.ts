// The local bus routes as EventBridge does: an S3 upload through the real SDK reaches every target
// whose rule matches and no other, failures stay with their target, and PutEvents works as on AWS.
import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ObjectCreatedEvent } from '../../shared/aws-events.ts';
import { endpointStateRule, uploadRule } from '../../shared/event-rules.ts';
import { decodeEventKey } from '../../shared/keys.ts';
import { startLocalCloud, type LocalCloud } from '../cloud.ts';
import { LocalEventBus, ratePeriodSeconds, type BusEvent } from './event-bus.ts';
import { createClock } from '../common/clock.ts';
import { parsePly } from '../../container/src/ply.ts';
import { generateSample, samplePngs } from '../../container/src/samples.ts';

const UNSEEN = { accessKeyId: 'AKIAUNSEEN', secretAccessKey: 'unseen-secret' };

describe('the local cloud bus with S3', () => {
  let cloud: LocalCloud;
  let s3: S3Client;
  const received: Record<string, BusEvent[]> = { sf: [], ldf: [], waker: [] };

  beforeAll(async () => {
    cloud = await startLocalCloud({ bucket: 'bus-test', sagemakerTimings: { createSeconds: 6 } });
    s3 = new S3Client({
      region: cloud.region,
      endpoint: cloud.s3,
      forcePathStyle: true,
      credentials: UNSEEN,
    });
    cloud.bus.putRule(uploadRule(cloud.bucket));
    const rule = uploadRule(cloud.bucket).name;
    cloud.bus.addTarget(rule, 'sf', (e) => void received.sf!.push(e));
    cloud.bus.addTarget(rule, 'ldf', (e) => void received.ldf!.push(e));
    cloud.bus.putRule(endpointStateRule('gpu'));
    cloud.bus.addTarget('endpoint-state-changed', 'waker', (e) => void received.waker!.push(e));
  });
  afterAll(async () => {
    s3?.destroy();
    await cloud?.stop();
  });

  it('delivers an image upload to both orchestrators, in the EventBridge shape, and a mask to neither', async () => {
    const key = 'users/u1/input/red chair+1_image.png';
    await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: 'png-bytes' }));
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: 'users/u1/input/red chair+1_mask.png', Body: 'm' }),
    );
    await cloud.bus.idle();

    expect(received.sf).toHaveLength(1);
    expect(received.ldf).toHaveLength(1);
    expect(received.waker).toHaveLength(0);
    const event = received.sf![0] as S3ObjectCreatedEvent;
    expect(event).toMatchObject({
      version: '0',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      region: cloud.region,
      resources: [`arn:aws:s3:::${cloud.bucket}`],
      detail: {
        bucket: { name: cloud.bucket },
        object: { key, size: 9 },
        reason: 'PutObject',
      },
    });
    expect(event.detail.object.etag).toMatch(/^[0-9a-f]{32}$/);
    // EventBridge carries the key as stored: read as it is, it names the object.
    expect(decodeEventKey(event.detail.object.key)).toEqual({ ok: true, value: key });
    expect(received.ldf![0]!.id).toBe(event.id);
  });

  it('routes PutEvents from the real EventBridge client through the same rules', async () => {
    const client = new EventBridgeClient({
      region: cloud.region,
      endpoint: cloud.eventbridge,
      credentials: UNSEEN,
    });
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.sagemaker',
            DetailType: 'SageMaker Endpoint State Change',
            Detail: JSON.stringify({ EndpointName: 'gpu-sf', EndpointStatus: 'IN_SERVICE' }),
          },
          { Source: 'aws.sagemaker', DetailType: 'x', Detail: '{not json' },
          { Source: 'a', DetailType: 'b', Detail: '{}', EventBusName: 'nope' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries?.[0]?.EventId).toBeDefined();
    expect(out.Entries?.[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(out.Entries?.[2]).toMatchObject({ ErrorCode: 'ResourceNotFoundException' });
    await cloud.bus.idle();
    expect(received.waker).toHaveLength(1);
    expect(received.waker![0]).toMatchObject({ account: '000000000000', detail: { EndpointName: 'gpu-sf' } });

    const test = await client.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify(uploadRule('bus-test').eventPattern),
        Event: JSON.stringify(received.sf![0]),
      }),
    );
    expect(test.Result).toBe(true);
    client.destroy();
  });
});

describe('the local cloud bus with SageMaker and the inference container', () => {
  it('starts the real container for an endpoint, routes its state changes, and serves generate_3d from S3', async () => {
    const cloud = await startLocalCloud({ sagemakerTimings: { createSeconds: 6 } });
    cloud.bus.putRule(endpointStateRule('gpu-'));
    const seen: BusEvent[] = [];
    cloud.bus.addTarget('endpoint-state-changed', 'waker', (e) => void seen.push(e));
    const statuses = (): string[] =>
      seen.map(
        (e) =>
          `${(e.detail as { EndpointName: string }).EndpointName} ${(e.detail as { EndpointStatus: string }).EndpointStatus}`,
      );
    const sm = new SageMakerClient({ region: cloud.region, endpoint: cloud.sagemaker, credentials: UNSEEN });
    const runtime = new SageMakerRuntimeClient({
      region: cloud.region,
      endpoint: cloud.sagemakerRuntime,
      credentials: UNSEEN,
    });
    const s3 = new S3Client({
      region: cloud.region,
      endpoint: cloud.s3,
      forcePathStyle: true,
      credentials: UNSEEN,
    });
    try {
      await sm.send(
        new CreateModelCommand({ ModelName: 'm', PrimaryContainer: { Image: 'reconstruct-3d' } }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'c',
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm' }],
        }),
      );
      await sm.send(new CreateEndpointCommand({ EndpointName: 'other', EndpointConfigName: 'c' }));
      await sm.send(new CreateEndpointCommand({ EndpointName: 'gpu-sf', EndpointConfigName: 'c' }));
      cloud.sagemakerEmulator.faults.failNextStart('injected: no capacity');
      await sm.send(new CreateEndpointCommand({ EndpointName: 'gpu-ldf', EndpointConfigName: 'c' }));
      await expect
        .poll(statuses, { timeout: 20_000 })
        .toEqual(
          expect.arrayContaining([
            'gpu-sf CREATING',
            'gpu-ldf CREATING',
            'gpu-sf IN_SERVICE',
            'gpu-ldf FAILED',
          ]) as unknown,
        );
      expect(statuses().some((s) => s.startsWith('other'))).toBe(false);
      const failed = seen.find((e) => (e.detail as { EndpointStatus: string }).EndpointStatus === 'FAILED');
      expect(failed?.detail).toMatchObject({ FailureReason: 'injected: no capacity' });

      const pngs = samplePngs(generateSample('star', 96));
      await s3.send(
        new PutObjectCommand({
          Bucket: cloud.bucket,
          Key: 'users/u9/input/star_image.png',
          Body: pngs.image,
        }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: cloud.bucket, Key: 'users/u9/input/star_mask.png', Body: pngs.mask }),
      );
      const out = await runtime.send(
        new InvokeEndpointCommand({
          EndpointName: 'gpu-sf',
          ContentType: 'application/json',
          Body: JSON.stringify({
            task: 'generate_3d',
            bucket: cloud.bucket,
            image_s3_key: 'users/u9/input/star_image.png',
            mask_s3_key: 'users/u9/input/star_mask.png',
            orchestrator: 'sf',
          }),
        }),
      );
      const result = JSON.parse(new TextDecoder().decode(out.Body)) as {
        output_s3_key: string;
        mesh_stats: { num_points: number };
      };
      expect(result.output_s3_key).toBe('users/u9/output/sf/star.ply');
      const ply = await s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: result.output_s3_key }));
      expect(parsePly(Buffer.from(await ply.Body!.transformToByteArray())).count).toBe(
        result.mesh_stats.num_points,
      );
    } finally {
      sm.destroy();
      runtime.destroy();
      s3.destroy();
      await cloud.stop();
    }
  });
});

describe('LocalEventBus delivery', () => {
  const event = (n: number): BusEvent => ({
    version: '0',
    id: `e${n}`,
    'detail-type': 'Tick',
    source: 'test',
    account: '000000000000',
    time: '2026-11-25T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { n },
  });

  it('retries a failing target, keeps it as a dead letter when retries run out, and never holds up the others', async () => {
    const bus = new LocalEventBus({ region: 'us-east-1', maxAttempts: 3, retryDelayMs: 1 });
    bus.putRule({ name: 'ticks', eventPattern: { source: ['test'] } });
    let flakyCalls = 0;
    const good: number[] = [];
    bus.addTarget('ticks', 'broken', () => {
      throw new Error('target down');
    });
    bus.addTarget('ticks', 'flaky', () => {
      if (++flakyCalls === 1) throw new Error('first call fails');
    });
    bus.addTarget('ticks', 'good', (e) => void good.push((e.detail as { n: number }).n));
    expect(bus.publish(event(1))).toBe(3);
    await bus.idle();
    expect(good).toEqual([1]);
    expect(flakyCalls).toBe(2);
    expect(bus.deadLetters()).toEqual([
      { rule: 'ticks', target: 'broken', eventId: 'e1', attempts: 3, ok: false, error: 'Error: target down' },
    ]);
    expect(bus.deliveries().find((d) => d.target === 'flaky')).toMatchObject({ ok: true, attempts: 2 });
  });

  it('gives each target its own copy and refuses bad rules and targets', () => {
    const bus = new LocalEventBus({ region: 'us-east-1' });
    expect(() => bus.putRule({ name: 'bad', eventPattern: { source: 'test' } })).toThrow(
      /leaf must be an array/,
    );
    expect(() => bus.addTarget('missing', 't', () => undefined)).toThrow(/rule 'missing' does not exist/);
    bus.putRule({ name: 'r', eventPattern: { source: ['test'] } });
    bus.addTarget('r', 't', (e) => {
      (e.detail as { n: number }).n = 99;
    });
    expect(() => bus.addTarget('r', 't', () => undefined)).toThrow(/already has a target 't'/);
    const e = event(5);
    bus.publish(e);
    expect((e.detail as { n: number }).n).toBe(5);
  });
});

describe('scheduled rules', () => {
  it("send a Scheduled Event to the rule's own targets each period, on the clock", async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const bus = new LocalEventBus({ region: 'us-east-1', clock });
    const ticks: { at: number; event: BusEvent }[] = [];
    const matched: BusEvent[] = [];
    bus.putRule({ name: 'every-5', scheduleExpression: 'rate(5 minutes)' });
    bus.addTarget('every-5', 't', (event) => void ticks.push({ at: clock.now(), event }));
    // A pattern rule that would match anything from aws.events sees no scheduled event.
    bus.putRule({ name: 'all-events', eventPattern: { source: ['aws.events'] } });
    bus.addTarget('all-events', 'm', (event) => void matched.push(event));
    const start = clock.now();
    await clock.sleep(16 * 60);
    await bus.idle();
    await bus.stop();
    expect(ticks.map((t) => Math.floor((t.at - start) / 60_000))).toEqual([5, 10, 15]);
    expect(ticks[0]!.event).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      detail: {},
      resources: ['arn:aws:events:us-east-1:000000000000:rule/every-5'],
    });
    expect(matched).toEqual([]);
  });

  it('stop ticking once the bus stops, and refuse what EventBridge refuses', async () => {
    const clock = createClock({ kind: 'skip', settleMs: 1 });
    const bus = new LocalEventBus({ region: 'us-east-1', clock });
    const ticks: number[] = [];
    bus.putRule({ name: 'every-minute', scheduleExpression: 'rate(1 minute)' });
    bus.addTarget('every-minute', 't', () => void ticks.push(clock.now()));
    await bus.stop();
    await clock.sleep(10 * 60);
    expect(ticks).toEqual([]);
    expect(ratePeriodSeconds('rate(2 hours)')).toBe(7200);
    expect(() => ratePeriodSeconds('rate(1 minutes)')).toThrow(/rate\(1 minute\)/);
    expect(() => ratePeriodSeconds('cron(0 12 * * ? *)')).toThrow(/cron schedules are not served/);
    expect(() => bus.putRule({ name: 'x' })).toThrow(/not neither/);
  });
});
