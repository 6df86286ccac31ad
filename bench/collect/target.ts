// Where a comparison runs: the local cloud or a deployed stack. One code path measures both: every
// collector reaches the services through the AWS SDK v3 clients this gives it, and only the
// endpoints, the credentials and the resource names differ.
import type { ClientConfig } from '../../shared/aws.ts';
import type { Clock } from '../report/results.ts';

/** The services a comparison talks to, by the names LocalCloud.clientConfig uses. */
export type TargetService =
  | 'dynamodb'
  | 's3'
  | 'eventbridge'
  | 'sagemaker'
  | 'sagemakerRuntime'
  | 'lambda'
  | 'stepfunctions'
  | 'cloudwatch';

export interface Target {
  kind: 'local' | 'aws';
  region: string;
  /** The single table both orchestrators write (`sf#` / `ldf#` keys). */
  tableName: string;
  /** The uploads bucket: an image and its mask landing here start both orchestrators. */
  bucket: string;
  /** The state machine's ARN (ListExecutions, GetExecutionHistory). */
  stateMachineArn: string;
  /** The durable function's name (ListDurableExecutionsByFunction). */
  durableFunctionName: string;
  /** The comparison dashboard the deployment put in its CloudWatch (GetDashboard). */
  dashboardName: string;
  /** The endpoint each orchestrator starts and stops: `{base}-sf`, `{base}-ldf`. */
  endpointNames: { sf: string; ldf: string };
  /** The clock the target's timestamps are on: `{ kind: 'real' }` on AWS. */
  clock: Clock;
  /** The target's time now, in ms since the epoch, on the clock its timestamps read. */
  now(): number;
  /** Simulated seconds that `ms` of the target's timestamps stand for (× the scale on `scale:N`). */
  simulatedSeconds(ms: number): number;
  /**
   * Resolves after `seconds` of simulated time: how a scenario spaces its arrivals. On the skip clock
   * it is a timer on that clock (the clock may jump to it), never a real sleep.
   */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
  /**
   * Runs the client's own work (an upload's requests and what lies between them) as work in flight
   * on the target's clock: a skip clock must not jump while a client is between two requests of one
   * upload. Elsewhere it only runs `work`.
   */
  busy<T>(work: () => Promise<T>): Promise<T>;
  /** Settings for an AWS SDK v3 client of one service. */
  clientConfig(service: TargetService): ClientConfig;
  /** Releases what the target opened (the local cloud it started, if any). */
  close(): Promise<void>;
}
