// The endpoint item: one per SageMaker endpoint and orchestrator, the single source of truth for who
// may start and who may stop it. Every transition is one conditional UpdateItem; every change that
// matters to the stop guard bumps `version`, so a stop decided on a read is refused if anything
// happened since.
//
//   pk = {o}#endpoint#{name}   sk = {o}#lease
//   state       Stopped | Starting | InService | Stopping
//   generation  +1 on every start; the starter of a generation is the only caller of CreateEndpoint
//   leases      { jobId: expiry epoch ms }: jobs using the endpoint (an expired lease counts for nothing)
//   waiters     { jobId: { kind, token } }: jobs waiting for InService in event mode
//   lastReleaseAt, inServiceAt, startedBy, lastFailure { generation, reason, at }, version
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ContentionError } from '../errors.ts';
import type { Orchestrator } from '../keys.ts';
import { TABLE_SPEC } from '../table-spec.ts';
import { tableKey } from '../table-keys.ts';

export type EndpointState = 'Stopped' | 'Starting' | 'InService' | 'Stopping';

export type WaiterKind = 'sfn-task-token' | 'durable-callback';

export interface Waiter {
  kind: WaiterKind;
  /** The Step Functions task token or the durable callback id. */
  token: string;
  generation: number;
  registeredAt: number;
}

export interface EndpointItem {
  name: string;
  state: EndpointState;
  generation: number;
  leases: Record<string, number>;
  waiters: Record<string, Waiter>;
  version: number;
  startedBy?: string;
  startedAt?: number;
  inServiceAt?: number;
  lastReleaseAt?: number;
  stoppingAt?: number;
  lastFailure?: { generation: number; reason: string; at: number };
}

export type AcquireResult =
  /** The caller must start the endpoint (CreateEndpoint) for this generation. */
  | { role: 'starter'; item: EndpointItem }
  /** The endpoint is starting or serving; the caller holds a lease and waits for InService. */
  | { role: 'joiner'; item: EndpointItem }
  /** The endpoint is being stopped; acquire again once it is Stopped. No lease was taken. */
  | { role: 'stopping'; item: EndpointItem };

export class EndpointStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly orchestrator: Orchestrator,
  ) {}

  private key(name: string): Record<string, string> {
    return {
      [TABLE_SPEC.partitionKey]: tableKey(this.orchestrator, 'endpoint', name),
      [TABLE_SPEC.sortKey]: tableKey(this.orchestrator, 'lease'),
    };
  }

  async get(name: string): Promise<EndpointItem> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(name), ConsistentRead: true }),
    );
    return toItem(name, out.Item);
  }

  /**
   * One conditional update. Resolves with the new item, or with `{ failed: old item }` when the
   * condition did not hold (the old item says why).
   */
  private async update(
    name: string,
    input: {
      set: string[];
      remove?: string[];
      add?: string[];
      condition: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    },
  ): Promise<{ item: EndpointItem } | { failed: EndpointItem }> {
    const parts = [`SET ${input.set.join(', ')}`];
    if (input.remove?.length) parts.push(`REMOVE ${input.remove.join(', ')}`);
    if (input.add?.length) parts.push(`ADD ${input.add.join(', ')}`);
    const expression = parts.join(' ');
    // DynamoDB refuses names and values an expression does not use, so pass only those used.
    const used = <T>(all: Record<string, T>): Record<string, T> =>
      Object.fromEntries(
        Object.entries(all).filter(([k]) =>
          new RegExp(`${k}(?![A-Za-z0-9_])`).test(`${expression} ${input.condition}`),
        ),
      );
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(name),
          UpdateExpression: expression,
          ConditionExpression: input.condition,
          ExpressionAttributeNames: used({ '#state': 'state', ...input.names }),
          ExpressionAttributeValues: used({ ':one': 1, ':zero': 0, ...input.values }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { item: toItem(name, out.Attributes) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return { failed: toItem(name, err.Item ? unmarshall(err.Item) : undefined) };
    }
  }

  /**
   * Takes a lease for `jobId` (expiring at `expiry`) and tells the caller its role: the single starter
   * of a new generation when the endpoint is Stopped, a joiner when it is Starting or InService.
   * Idempotent per job: the starter of the current generation acquiring again is the starter again.
   */
  async acquire(
    name: string,
    jobId: string,
    now: number,
    expiry: number,
    attempt = 1,
  ): Promise<AcquireResult> {
    const names = { '#leases': 'leases', '#job': jobId };
    // The common case first: join a starting or running endpoint.
    const joined = await this.update(name, {
      set: ['#leases.#job = :expiry', 'version = version + :one', 'updatedAt = :now'],
      condition: '#state IN (:starting, :inService)',
      names,
      values: { ':expiry': expiry, ':now': now, ':starting': 'Starting', ':inService': 'InService' },
    });
    if ('item' in joined) {
      const { item } = joined;
      const starter = item.state === 'Starting' && item.startedBy === jobId;
      return { role: starter ? 'starter' : 'joiner', item };
    }
    if (joined.failed.state === 'Stopping') return { role: 'stopping', item: joined.failed };
    // Stopped (or no item yet): try to become the one starter of the next generation.
    const started = await this.update(name, {
      set: [
        '#state = :starting',
        'generation = if_not_exists(generation, :zero) + :one',
        'version = if_not_exists(version, :zero) + :one',
        '#leases = :leases',
        'waiters = if_not_exists(waiters, :empty)',
        'startedBy = :job',
        'startedAt = :now',
        'updatedAt = :now',
      ],
      remove: ['inServiceAt', 'stoppingAt'],
      condition: 'attribute_not_exists(pk) OR #state = :stopped',
      names: { '#leases': 'leases' },
      values: {
        ':starting': 'Starting',
        ':stopped': 'Stopped',
        ':leases': { [jobId]: expiry },
        ':empty': {},
        ':job': jobId,
        ':now': now,
      },
    });
    if ('item' in started) return { role: 'starter', item: started.item };
    // Someone else started (or is stopping) in between: another round settles it.
    if (started.failed.state === 'Stopping') return { role: 'stopping', item: started.failed };
    if (attempt >= 5) {
      throw new ContentionError(`endpoint ${name}: acquire kept racing with other transitions; try again`);
    }
    return this.acquire(name, jobId, now, expiry, attempt + 1);
  }

  /** Extends a held lease; false when the job holds none any more (released, or taken by a stop). */
  async renew(name: string, jobId: string, now: number, expiry: number): Promise<boolean> {
    const out = await this.update(name, {
      set: ['leases.#job = :expiry', 'version = version + :one', 'updatedAt = :now'],
      condition: 'attribute_exists(leases.#job) AND #state IN (:starting, :inService)',
      names: { '#job': jobId },
      values: { ':expiry': expiry, ':now': now, ':starting': 'Starting', ':inService': 'InService' },
    });
    return 'item' in out;
  }

  /**
   * Drops the job's lease, and its waiter if one is left (a wait that ended through its fallback
   * check, its event lost, leaves it behind), and stamps the release; a no-op when it holds no lease.
   */
  async release(name: string, jobId: string, now: number): Promise<EndpointItem | undefined> {
    const out = await this.update(name, {
      set: ['lastReleaseAt = :now', 'version = version + :one', 'updatedAt = :now'],
      remove: ['leases.#job', 'waiters.#job'],
      condition: 'attribute_exists(leases.#job)',
      names: { '#job': jobId },
      values: { ':now': now },
    });
    return 'item' in out ? out.item : undefined;
  }

  /** Starting → InService for `generation`; idempotent. */
  async markInService(name: string, generation: number, now: number): Promise<EndpointItem | undefined> {
    const out = await this.update(name, {
      set: ['#state = :inService', 'inServiceAt = :now', 'version = version + :one', 'updatedAt = :now'],
      condition: '#state = :starting AND generation = :g',
      values: { ':inService': 'InService', ':starting': 'Starting', ':g': generation, ':now': now },
    });
    if ('item' in out) return out.item;
    return out.failed.state === 'InService' && out.failed.generation === generation ? out.failed : undefined;
  }

  /**
   * The start of `generation` failed: back to Stopped with the reason, dropping every lease of that
   * generation (all its jobs fail), so the next job starts afresh. Idempotent.
   */
  async markStartFailed(
    name: string,
    generation: number,
    reason: string,
    now: number,
  ): Promise<EndpointItem | undefined> {
    const out = await this.update(name, {
      set: [
        '#state = :stopped',
        'leases = :empty',
        'lastFailure = :failure',
        'version = version + :one',
        'updatedAt = :now',
      ],
      condition: '#state IN (:starting, :inService) AND generation = :g',
      values: {
        ':stopped': 'Stopped',
        ':starting': 'Starting',
        ':inService': 'InService',
        ':g': generation,
        ':empty': {},
        ':failure': { generation, reason, at: now },
        ':now': now,
      },
    });
    return 'item' in out ? out.item : undefined;
  }

  /**
   * The guarded stop, phase one: InService → Stopping, only if nothing changed since `seen` was read
   * (same version: no acquire, renew or release since) and the caller checked, on `seen`, that no
   * lease is live and the idle window has passed. Expired leases are dropped.
   */
  async beginStop(name: string, seen: EndpointItem, now: number): Promise<EndpointItem | undefined> {
    const out = await this.update(name, {
      set: [
        '#state = :stopping',
        'leases = :empty',
        'stoppingAt = :now',
        'version = version + :one',
        'updatedAt = :now',
      ],
      condition: '#state = :inService AND version = :v AND generation = :g',
      values: {
        ':stopping': 'Stopping',
        ':inService': 'InService',
        ':v': seen.version,
        ':g': seen.generation,
        ':empty': {},
        ':now': now,
      },
    });
    return 'item' in out ? out.item : undefined;
  }

  /** Phase two: Stopping → Stopped once SageMaker has no endpoint any more. Idempotent. */
  async finishStop(name: string, generation: number, now: number): Promise<boolean> {
    const out = await this.update(name, {
      set: ['#state = :stopped', 'version = version + :one', 'updatedAt = :now'],
      condition: '#state = :stopping AND generation = :g',
      values: { ':stopped': 'Stopped', ':stopping': 'Stopping', ':g': generation, ':now': now },
    });
    return 'item' in out || (out.failed.state === 'Stopped' && out.failed.generation === generation);
  }

  /**
   * Makes `jobId` the starter of a new generation when the current one cannot serve: the item says
   * InService but SageMaker has no such endpoint (deleted outside the protocol), or the item says
   * Starting but its starter died before CreateEndpoint. Live leases are kept. Only one caller wins.
   */
  async restartAs(
    name: string,
    from: 'InService' | 'Starting',
    generation: number,
    jobId: string,
    now: number,
  ): Promise<EndpointItem | undefined> {
    const out = await this.update(name, {
      set: [
        '#state = :starting',
        'generation = generation + :one',
        'startedBy = :job',
        'startedAt = :now',
        'version = version + :one',
        'updatedAt = :now',
      ],
      remove: ['inServiceAt'],
      condition: '#state = :from AND generation = :g',
      values: { ':starting': 'Starting', ':from': from, ':g': generation, ':job': jobId, ':now': now },
    });
    return 'item' in out ? out.item : undefined;
  }

  /** Registers the job's waiter for InService (event mode). Waiters do not touch `version`. */
  async addWaiter(name: string, jobId: string, waiter: Waiter, now: number): Promise<void> {
    await this.update(name, {
      set: ['waiters.#job = :w', 'updatedAt = :now'],
      condition: 'attribute_exists(pk)',
      names: { '#job': jobId },
      values: { ':w': waiter, ':now': now },
    });
  }

  /** Removes the job's waiter if it is still the one with `token`; true for the one caller that removed it. */
  async removeWaiter(name: string, jobId: string, token: string, now: number): Promise<boolean> {
    const out = await this.update(name, {
      set: ['updatedAt = :now'],
      remove: ['waiters.#job'],
      condition: 'waiters.#job.#token = :token',
      names: { '#job': jobId, '#token': 'token' },
      values: { ':token': token, ':now': now },
    });
    return 'item' in out;
  }
}

function toItem(name: string, raw: Record<string, unknown> | undefined): EndpointItem {
  if (raw === undefined)
    return { name, state: 'Stopped', generation: 0, leases: {}, waiters: {}, version: 0 };
  const item = raw as Partial<EndpointItem> & { state?: EndpointState };
  return {
    name,
    state: item.state ?? 'Stopped',
    generation: item.generation ?? 0,
    leases: item.leases ?? {},
    waiters: item.waiters ?? {},
    version: item.version ?? 0,
    ...(item.startedBy !== undefined ? { startedBy: item.startedBy } : {}),
    ...(item.startedAt !== undefined ? { startedAt: item.startedAt } : {}),
    ...(item.inServiceAt !== undefined ? { inServiceAt: item.inServiceAt } : {}),
    ...(item.lastReleaseAt !== undefined ? { lastReleaseAt: item.lastReleaseAt } : {}),
    ...(item.stoppingAt !== undefined ? { stoppingAt: item.stoppingAt } : {}),
    ...(item.lastFailure !== undefined ? { lastFailure: item.lastFailure } : {}),
  };
}

/** Leases still live at `now`. */
export function liveLeases(item: EndpointItem, now: number): string[] {
  return Object.entries(item.leases)
    .filter(([, expiry]) => expiry > now)
    .map(([job]) => job);
}
