// The local CloudWatch through the real @aws-sdk/client-cloudwatch (AWS JSON 1.0), and through the
// Smithy RPC v2 CBOR protocol the AWS CLI speaks; EMF lines as a Lambda prints them.
import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  GetDashboardCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListDashboardsCommand,
  ListMetricsCommand,
  PutDashboardCommand,
  PutMetricDataCommand,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { cbor } from '@smithy/core/cbor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloudWatch, type LocalCloudWatch } from './server.ts';

let cw: LocalCloudWatch;
let client: CloudWatchClient;
const T0 = Date.parse('2026-12-01T10:00:00Z');

beforeAll(async () => {
  cw = await startLocalCloudWatch({ region: 'us-east-1', account: '000000000000', now: () => T0 + 3600_000 });
  client = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: cw.endpoint,
    credentials: { accessKeyId: 'any', secretAccessKey: 'thing' },
  });
});

afterAll(async () => {
  client?.destroy();
  await cw?.stop();
});

const dims = (o: string) => [{ Name: 'Orchestrator', Value: o }];

describe('metrics', () => {
  it('computes every statistic per aligned period from what PutMetricData stored', async () => {
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Test/Stats',
        MetricData: [
          {
            MetricName: 'Latency',
            Dimensions: dims('sf'),
            Timestamp: new Date(T0 + 5_000),
            Values: [1, 2, 3, 4],
            Counts: [1, 1, 1, 7],
            Unit: 'Seconds',
          },
          {
            MetricName: 'Latency',
            Dimensions: dims('sf'),
            Timestamp: new Date(T0 + 65_000),
            Value: 10,
            Unit: 'Seconds',
          },
          { MetricName: 'Latency', Dimensions: dims('ldf'), Timestamp: new Date(T0 + 5_000), Value: 100 },
        ],
      }),
    );
    const metric = { Namespace: 'Test/Stats', MetricName: 'Latency', Dimensions: dims('sf') };
    const stat = (Id: string, Stat: string) => ({ Id, MetricStat: { Metric: metric, Period: 60, Stat } });
    const out = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 120_000),
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          stat('n', 'SampleCount'),
          stat('s', 'Sum'),
          stat('a', 'Average'),
          stat('lo', 'Minimum'),
          stat('hi', 'Maximum'),
          stat('p50', 'p50'),
          stat('p90', 'p90'),
          { Id: 'twice', Expression: 's * 2', Label: 'double' },
          { Id: 'total', Expression: 'SUM([s, n])' },
        ],
      }),
    );
    const byId: Record<string, MetricDataResult> = Object.fromEntries(
      out.MetricDataResults!.map((r): [string, MetricDataResult] => [r.Id!, r]),
    );
    expect(byId.n!.Timestamps).toEqual([new Date(T0), new Date(T0 + 60_000)]);
    expect(byId.n!.Values).toEqual([10, 1]);
    expect(byId.s!.Values).toEqual([1 + 2 + 3 + 28, 10]);
    expect(byId.a!.Values).toEqual([3.4, 10]);
    expect(byId.lo!.Values).toEqual([1, 10]);
    expect(byId.hi!.Values).toEqual([4, 10]);
    expect(byId.p50!.Values).toEqual([4, 10]);
    expect(byId.p90!.Values).toEqual([4, 10]);
    expect(byId.twice!.Values).toEqual([68, 20]);
    expect(byId.twice!.Label).toBe('double');
    expect(byId.total!.Values).toEqual([44, 11]);
    const desc = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 120_000),
        MetricDataQueries: [stat('s', 'Sum')],
      }),
    );
    expect(desc.MetricDataResults![0]!.Values).toEqual([10, 34]);
  });

  it('answers GetMetricStatistics with basic and extended statistics', async () => {
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Test/Classic',
        MetricData: [{ MetricName: 'Bytes', Timestamp: new Date(T0), Values: [5, 15] }],
      }),
    );
    const out = await client.send(
      new GetMetricStatisticsCommand({
        Namespace: 'Test/Classic',
        MetricName: 'Bytes',
        StartTime: new Date(T0 - 60_000),
        EndTime: new Date(T0 + 60_000),
        Period: 60,
        Statistics: ['Sum', 'Maximum'],
        ExtendedStatistics: ['p50'],
      }),
    );
    expect(out.Datapoints).toEqual([
      { Timestamp: new Date(T0), Sum: 20, Maximum: 15, ExtendedStatistics: { p50: 5 } },
    ]);
  });

  it('lists metrics by namespace, name and dimension filter, one entry per dimension set in any order', async () => {
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Test/List',
        MetricData: [
          {
            MetricName: 'Jobs',
            Dimensions: [
              { Name: 'A', Value: '1' },
              { Name: 'B', Value: '2' },
            ],
            Value: 1,
          },
          {
            MetricName: 'Jobs',
            Dimensions: [
              { Name: 'B', Value: '2' },
              { Name: 'A', Value: '1' },
            ],
            Value: 1,
          },
          { MetricName: 'Jobs', Dimensions: [{ Name: 'A', Value: '9' }], Value: 1 },
          { MetricName: 'Other', Value: 1 },
        ],
      }),
    );
    const all = await client.send(new ListMetricsCommand({ Namespace: 'Test/List' }));
    expect(all.Metrics).toHaveLength(3);
    const jobsWithA = await client.send(
      new ListMetricsCommand({ Namespace: 'Test/List', MetricName: 'Jobs', Dimensions: [{ Name: 'A' }] }),
    );
    expect(jobsWithA.Metrics).toHaveLength(2);
    const exact = await client.send(
      new ListMetricsCommand({ Namespace: 'Test/List', Dimensions: [{ Name: 'A', Value: '9' }] }),
    );
    expect(exact.Metrics).toEqual([
      { Namespace: 'Test/List', MetricName: 'Jobs', Dimensions: [{ Name: 'A', Value: '9' }] },
    ]);
  });

  it('refuses bad input with the error CloudWatch names', async () => {
    await expect(
      client.send(
        new PutMetricDataCommand({ Namespace: 'AWS/Lambda', MetricData: [{ MetricName: 'x', Value: 1 }] }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', $metadata: { httpStatusCode: 400 } });
    await expect(
      client.send(
        new PutMetricDataCommand({
          Namespace: 'Test/Bad',
          MetricData: [{ MetricName: 'x', Value: 1, Values: [1] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(
      client.send(
        new GetMetricDataCommand({
          StartTime: new Date(T0),
          EndTime: new Date(T0 + 1000),
          MetricDataQueries: [
            {
              Id: 'm',
              MetricStat: { Metric: { Namespace: 'x', MetricName: 'y' }, Period: 60, Stat: 'Median' },
            },
          ],
        }),
      ),
    ).rejects.toThrow(/Median/);
    await expect(
      client.send(
        new GetMetricDataCommand({
          StartTime: new Date(T0),
          EndTime: new Date(T0 + 1000),
          MetricDataQueries: [{ Id: 'e', Expression: 'ANOMALY_DETECTION_BAND(m1)' }],
        }),
      ),
    ).rejects.toThrow(/does not support the function ANOMALY_DETECTION_BAND/);
  });
});

describe('EMF', () => {
  it('turns a Powertools-style EMF line into metrics and leaves other lines alone', async () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: T0,
        CloudWatchMetrics: [
          {
            Namespace: 'DurableVsSfn',
            Dimensions: [['Orchestrator', 'WaitMode']],
            Metrics: [
              { Name: 'JobLatency', Unit: 'Seconds' },
              { Name: 'JobsCompleted', Unit: 'Count' },
            ],
          },
        ],
      },
      Orchestrator: 'ldf',
      WaitMode: 'poll',
      JobLatency: [12, 14],
      JobsCompleted: 1,
      jobId: 'j-1',
    });
    expect(cw.ingestLogLine(line)).toEqual({ metrics: 2 });
    expect(cw.ingestLogLine('START RequestId: 1 Version: $LATEST')).toBeUndefined();
    expect(cw.ingestLogLine('{"level":"INFO","message":"hello"}')).toBeUndefined();
    const broken = cw.ingestLogLine('{"_aws":{"Timestamp":"soon","CloudWatchMetrics":[]}}');
    expect(broken && 'error' in broken && broken.error).toMatch(/Timestamp/);
    expect(cw.emfErrors()).toHaveLength(1);
    const out = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0 - 60_000),
        EndTime: new Date(T0 + 60_000),
        MetricDataQueries: [
          {
            Id: 'p',
            MetricStat: {
              Metric: {
                Namespace: 'DurableVsSfn',
                MetricName: 'JobLatency',
                Dimensions: [
                  { Name: 'WaitMode', Value: 'poll' },
                  { Name: 'Orchestrator', Value: 'ldf' },
                ],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    );
    expect(out.MetricDataResults![0]!.Values).toEqual([14]);
  });
});

describe('dashboards', () => {
  const body = JSON.stringify({
    widgets: [
      { type: 'text', x: 0, y: 0, width: 24, height: 2, properties: { markdown: '# Comparison' } },
      {
        type: 'metric',
        x: 0,
        y: 2,
        width: 12,
        height: 6,
        properties: { region: 'us-east-1', metrics: [['AWS/States', 'ExecutionTime']], stat: 'p90' },
      },
    ],
  });

  it('stores, lists, reads back and deletes a dashboard body unchanged', async () => {
    const put = await client.send(
      new PutDashboardCommand({ DashboardName: 'comparison', DashboardBody: body }),
    );
    expect(put.DashboardValidationMessages).toEqual([]);
    const got = await client.send(new GetDashboardCommand({ DashboardName: 'comparison' }));
    expect(got.DashboardBody).toBe(body);
    expect(got.DashboardArn).toBe('arn:aws:cloudwatch::000000000000:dashboard/comparison');
    const listed = await client.send(new ListDashboardsCommand({ DashboardNamePrefix: 'comp' }));
    expect(listed.DashboardEntries?.map((d) => [d.DashboardName, d.Size])).toEqual([
      ['comparison', Buffer.byteLength(body)],
    ]);
    await client.send(new DeleteDashboardsCommand({ DashboardNames: ['comparison'] }));
    await expect(client.send(new GetDashboardCommand({ DashboardName: 'comparison' }))).rejects.toMatchObject(
      {
        name: 'ResourceNotFound', // query compatible: the SDK names it by the query code
        $metadata: { httpStatusCode: 404 },
      },
    );
  });

  it('refuses a body that is not JSON or whose widgets are malformed, saying where', async () => {
    await expect(
      client.send(new PutDashboardCommand({ DashboardName: 'bad', DashboardBody: '{' })),
    ).rejects.toMatchObject({
      name: 'DashboardInvalidInputError',
    });
    await expect(
      client.send(
        new PutDashboardCommand({
          DashboardName: 'bad',
          DashboardBody: JSON.stringify({ widgets: [{ type: 'metric', properties: { metrics: [] } }] }),
        }),
      ),
    ).rejects.toThrow(/widgets\/0\/properties\/metrics/);
  });
});

describe('the AWS CLI protocol (Smithy RPC v2 CBOR)', () => {
  async function cborCall(
    operation: string,
    input: unknown,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(`${cw.endpoint}/service/GraniteServiceVersion20100801/operation/${operation}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/cbor',
        'smithy-protocol': 'rpc-v2-cbor',
        accept: 'application/cbor',
      },
      body: Buffer.from(cbor.serialize(input)),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      status: res.status,
      body: cbor.deserialize(bytes) as Record<string, unknown>,
      headers: res.headers,
    };
  }

  it('serves the same operations in CBOR, timestamps as tag 1', async () => {
    const put = await cborCall('PutDashboard', { DashboardName: 'cli', DashboardBody: '{"widgets":[]}' });
    expect(put.status).toBe(200);
    expect(put.headers.get('smithy-protocol')).toBe('rpc-v2-cbor');
    const listed = await cborCall('ListDashboards', { DashboardNamePrefix: 'cli' });
    const entry = (listed.body.DashboardEntries as Record<string, unknown>[])[0]!;
    expect(entry.DashboardName).toBe('cli');
    expect(entry.LastModified).toMatchObject({ tag: 1, value: (T0 + 3600_000) / 1000 });
    const missing = await cborCall('GetDashboard', { DashboardName: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.__type).toBe('com.amazonaws.cloudwatch#DashboardNotFoundError');
    expect(missing.headers.get('x-amzn-query-error')).toBe('ResourceNotFound;Sender');
  });
});
