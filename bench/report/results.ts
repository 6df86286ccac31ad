// The results model: what the scenario runner measured, as results.json holds it. The JSON Schema
// beside this file is the contract; these types mirror it, and every write and read is validated
// against it, so a bad file is refused with the field named.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export type OrchestratorId = 'sf' | 'ldf';
export type WaitModeId = 'poll' | 'event';
export type Shape = 'warm' | 'cold';
export const ORCHESTRATOR_IDS: readonly OrchestratorId[] = ['sf', 'ldf'];
export const ORCHESTRATOR_LABELS: Record<OrchestratorId, string> = {
  sf: 'Step Functions',
  ldf: 'durable function',
};

/** skip: waits take no time (modelled times only); scale: `factor` simulated s per real s; real: wall clock. */
export type Clock = { kind: 'skip' } | { kind: 'real' } | { kind: 'scale'; factor: number };

/** The phases a job passes, in order; each is seconds after the upload on the run's clock. */
export const PHASES = [
  'admitted',
  'mask',
  'endpointAcquired',
  'inService',
  'inferred',
  'recorded',
  'released',
  'notified',
  'stopped',
] as const;
export type Phase = (typeof PHASES)[number];

export interface ScenarioParameters {
  endpointStartSeconds: number;
  inferenceSeconds: number;
  endpointConcurrency: number;
  endpointDeleteSeconds: number;
  idleWindowSeconds: number;
  pollSeconds: number;
  pollMaxSeconds: number;
  /** Event mode: how long a wait for its wake-up lasts before it looks once itself (absent in older results: pollMaxSeconds). */
  eventFallbackSeconds?: number;
  lambdaMemoryMb: number;
  instanceType: string;
  arrivalsPerHour?: number;
  jobs?: number;
  [other: string]: number | string | boolean | undefined;
}

export interface Units {
  stepFunctions: { stateTransitions: number };
  durable: {
    /** As AWS meters them: step 1 + retries, waitForCondition 1 + polls, waitForCallback 3 + retries, wait 1. */
    operationsBilled: number;
    operationsDistinct: number;
    bytesWritten: number;
    bytesRetained: number;
    retentionDays: number;
  };
  /** Replays and the task Lambda included. */
  lambda: { requests: number; gbSeconds: number; architecture: 'arm64' | 'x86_64' };
  dynamodb: { readRequestUnits: number; writeRequestUnits: number };
  eventbridge: { customEvents: number; awsServiceEvents: number };
  /** tier 1: PUT, COPY, POST, LIST; tier 2: GET, HEAD and the rest. */
  s3: { tier1Requests: number; tier2Requests: number };
  cloudwatch: { metricValues: number; logBytes: number };
  /** instanceSeconds: this job's share of the endpoint's bill (start, use, idle tail). */
  sagemaker: { endpointStarts: number; instanceSeconds: number; idleTailSeconds: number };
}

export type Outcome = 'COMPLETED' | 'FAILED' | 'REJECTED' | 'DUPLICATE' | 'TIMED_OUT';

export interface JobResult {
  jobId: string;
  orchestrator: OrchestratorId;
  waitMode: WaitModeId;
  shape: Shape;
  /** This job started the endpoint (or took a start over). */
  started: boolean;
  /** This job's idle stop deleted the endpoint. */
  stoppedEndpoint: boolean;
  outcome: Outcome;
  error?: string;
  latency: { uploadToResultSeconds: number | null; phases: Partial<Record<Phase, number>> };
  /** The physical limit: the endpoint's own time from this job's acquire to InService, and inference. */
  physical: { inServiceWaitSeconds: number; inferenceSeconds: number; deleteSeconds?: number };
  units: Units;
}

export interface Run {
  id: string;
  scenario: { name: string; parameters: ScenarioParameters };
  seed: number;
  waitModes: WaitModeId[];
  target: 'local' | 'aws';
  clock: Clock;
  /** Real time the run began and ended. */
  startedAt?: string;
  endedAt?: string;
  /**
   * Simulated seconds the run spanned on its clock. Beside the real span (startedAt to endedAt) it
   * says how much the clock skipped: on `skip`, everything but the work the run really did.
   */
  simulatedSeconds?: number;
  monthly?: { customMetrics?: Partial<Record<OrchestratorId, number>> };
  jobs: JobResult[];
}

export interface OperationalLoad {
  resources?: number;
  iamStatements?: number;
  orchestrationLines?: number;
  failedExecutionDebug?: string;
}

export interface Results {
  schemaVersion: 1;
  createdAt: string;
  region: string;
  commit?: string;
  operational?: Partial<Record<OrchestratorId, OperationalLoad>>;
  runs: Run[];
}

export const RESULTS_SCHEMA_PATH = new URL('./results.schema.json', import.meta.url);

/** A file or value that does not fit its schema; `message` names every bad field. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** A validator for a JSON Schema, throwing SchemaError that names each bad field and what it needs. */
export function schemaValidator<T>(schema: object, what: string): (value: unknown) => T {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  const validate: ValidateFunction = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return value as T;
    throw new SchemaError(`${what} is not valid:\n${describeErrors(validate.errors ?? [])}`);
  };
}

/** One line per error: the field as a JSON pointer (e.g. /runs/0/jobs/1/units/lambda/requests) and the rule. */
function describeErrors(errors: readonly ErrorObject[]): string {
  const lines = errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const at = e.instancePath || '(top level)';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'`
          : e.keyword === 'enum'
            ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
            : '';
      return `  ${at}: ${e.message ?? e.keyword}${extra}`;
    });
  return [...new Set(lines)].join('\n');
}

const validateResults = schemaValidator<Results>(
  JSON.parse(readFileSync(RESULTS_SCHEMA_PATH, 'utf8')) as object,
  'results',
);

/** Checks a results object against the schema; throws SchemaError naming each bad field. */
export function checkResults(value: unknown): Results {
  return validateResults(value);
}

/** Validates, then writes `results` as pretty JSON (creating the folder). */
export function writeResults(path: string, results: Results): void {
  checkResults(results);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** Reads and validates a results file; errors name the file and each bad field. */
export function readResults(path: string): Results {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SchemaError(`cannot read results file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SchemaError(`results file ${path} is not JSON: ${(err as Error).message}`);
  }
  try {
    return checkResults(value);
  } catch (err) {
    throw new SchemaError(`results file ${path}: ${(err as Error).message}`);
  }
}

/** The words for a run's clock, and whether its latencies are evidence. */
export function clockLabel(clock: Clock): string {
  return clock.kind === 'scale' ? `scale:${clock.factor}` : clock.kind;
}
export const latencyIsEvidence = (clock: Clock): boolean => clock.kind !== 'scale';
