// The local EventBridge: rules with event patterns, targets, and delivery. Every event goes to every
// target whose rule matches, at least once: a failed delivery is retried with backoff and, when the
// retries are spent, kept as a dead letter; one target's failure never holds up another's. It also
// answers the EventBridge API (PutEvents, TestEventPattern; AWS JSON 1.1), so the project's
// `Job Completed` notifications go out through the real @aws-sdk/client-eventbridge.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { EventBridgeEvent } from '../../shared/aws-events.ts';
import { matchesPattern, validatePattern, type EventPattern } from './event-pattern.ts';
import {
  BodyTooLarge,
  closeServer,
  listenOnLoopback,
  parseJsonObject,
  readBody,
  sendAwsJson,
  serveEveryRequest,
} from '../common/http-server.ts';
import { LOCAL_ACCOUNT_ID } from '../common/account.ts';
import { createClock, type Clock } from '../common/clock.ts';

/** EventBridge's limits on one PutEvents request. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

export type BusEvent = EventBridgeEvent<string, unknown>;
export type TargetHandler = (event: BusEvent) => unknown;

export interface Delivery {
  rule: string;
  target: string;
  eventId: string;
  attempts: number;
  ok: boolean;
  error?: string;
}

export interface LocalEventBusOptions {
  name?: string;
  region: string;
  account?: string;
  /** Deliveries tried per target before the event becomes a dead letter (EventBridge retries for up to 24 h). */
  maxAttempts?: number;
  /** First retry delay in simulated ms; doubled on each further retry. */
  retryDelayMs?: number;
  /** The clock of retry delays and event times; each delivery attempt is work in flight on it. */
  clock?: Clock;
  log?: (line: string) => void;
}

interface Rule {
  name: string;
  /** An event-pattern rule matches events on the bus; a scheduled rule has none. */
  pattern?: EventPattern;
  targets: Map<string, TargetHandler>;
  /** A scheduled rule's timer: aborting it ends the schedule. */
  schedule?: AbortController;
}

export class LocalEventBus {
  readonly name: string;
  readonly arn: string;
  private readonly rules = new Map<string, Rule>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: Delivery[] = [];
  private server: Server | undefined;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: LocalEventBusOptions) {
    this.clock = options.clock ?? createClock('real');
    this.name = options.name ?? 'default';
    this.arn = `arn:aws:events:${options.region}:${options.account ?? LOCAL_ACCOUNT_ID}:event-bus/${this.name}`;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  /**
   * Adds or replaces a rule: an event pattern, or a schedule (`rate(5 minutes)`) whose targets get a
   * `Scheduled Event` each period, on the clock. A malformed pattern or schedule is refused with the
   * reason; a rule must have exactly one of the two, as on EventBridge.
   */
  putRule(rule: { name: string; eventPattern?: unknown; scheduleExpression?: string }): void {
    const scheduled = rule.scheduleExpression !== undefined;
    if (scheduled === (rule.eventPattern !== undefined)) {
      throw new Error(
        `rule '${rule.name}': give either an event pattern or a schedule expression, not ${scheduled ? 'both' : 'neither'}`,
      );
    }
    const periodSeconds = scheduled ? ratePeriodSeconds(rule.scheduleExpression!) : undefined;
    const pattern = rule.eventPattern;
    if (!scheduled) validatePattern(pattern);
    const existing = this.rules.get(rule.name);
    existing?.schedule?.abort(new Error(`rule '${rule.name}' was replaced`));
    const next: Rule = {
      name: rule.name,
      ...(scheduled ? {} : { pattern: pattern as EventPattern }),
      targets: existing?.targets ?? new Map<string, TargetHandler>(),
    };
    this.rules.set(rule.name, next);
    if (periodSeconds !== undefined) this.runSchedule(next, periodSeconds);
  }

  /**
   * A scheduled rule's ticks, each a `Scheduled Event` to the rule's own targets (on AWS it is not put
   * on the bus for other rules). The timer is a background sleep: on a skip clock a schedule alone
   * never moves time on, it ticks as time passes for everything else.
   */
  private runSchedule(rule: Rule, periodSeconds: number): void {
    const controller = new AbortController();
    rule.schedule = controller;
    const tick = async (): Promise<void> => {
      for (;;) {
        await this.clock.sleep(periodSeconds, controller.signal, { background: true });
        const event = this.envelope({
          source: 'aws.events',
          detailType: 'Scheduled Event',
          detail: {},
          resources: [`arn:aws:events:${this.options.region}:${this.account}:rule/${rule.name}`],
        });
        for (const [targetId, handler] of rule.targets) this.start(rule.name, targetId, handler, event);
      }
    };
    tick().catch(() => undefined); // aborted: the rule was replaced or the bus stopped
  }

  /** Adds a target to a rule. Returns a function that removes it. */
  addTarget(ruleName: string, targetId: string, handler: TargetHandler): () => void {
    const rule = this.rules.get(ruleName);
    if (!rule) throw new Error(`rule '${ruleName}' does not exist on event bus '${this.name}': put it first`);
    if (rule.targets.has(targetId)) throw new Error(`rule '${ruleName}' already has a target '${targetId}'`);
    rule.targets.set(targetId, handler);
    return () => rule.targets.delete(targetId);
  }

  /** Routes one event; returns how many deliveries it started. */
  publish(event: BusEvent): number {
    let started = 0;
    for (const rule of this.rules.values()) {
      if (rule.pattern === undefined || !matchesPattern(rule.pattern, event)) continue;
      for (const [targetId, handler] of rule.targets) {
        this.start(rule.name, targetId, handler, event);
        started++;
      }
    }
    return started;
  }

  private start(rule: string, targetId: string, handler: TargetHandler, event: BusEvent): void {
    const delivery = this.deliver(rule, targetId, handler, event);
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private get account(): string {
    return this.options.account ?? LOCAL_ACCOUNT_ID;
  }

  private async deliver(
    rule: string,
    target: string,
    handler: TargetHandler,
    event: BusEvent,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Each target gets its own copy, as each AWS target receives its own payload.
        await this.clock.track(Promise.resolve(handler(structuredClone(event))));
        this.log.push({ rule, target, eventId: event.id, attempts: attempt, ok: true });
        return;
      } catch (err) {
        const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (attempt >= this.maxAttempts) {
          this.log.push({ rule, target, eventId: event.id, attempts: attempt, ok: false, error });
          this.options.log?.(
            `event ${event.id} to ${rule}/${target} failed ${attempt} times, kept as a dead letter: ${error}`,
          );
          return;
        }
        await this.clock.sleep((this.retryDelayMs * 2 ** (attempt - 1)) / 1000);
      }
    }
  }

  /** Resolves once every delivery started so far (and any they started) has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Every finished delivery, in order. */
  deliveries(): readonly Delivery[] {
    return this.log;
  }

  /** Deliveries that failed every attempt. */
  deadLetters(): Delivery[] {
    return this.log.filter((d) => !d.ok);
  }

  /** Builds the envelope EventBridge wraps around a PutEvents entry. */
  envelope(entry: {
    source: string;
    detailType: string;
    detail: unknown;
    resources?: string[];
    time?: Date;
  }): BusEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.detailType,
      source: entry.source,
      account: this.account,
      time: (entry.time ?? new Date(this.clock.now())).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region,
      resources: entry.resources ?? [],
      detail: entry.detail,
    };
  }

  /** Serves the EventBridge API on a free loopback port; resolves with its endpoint URL. */
  async listen(): Promise<string> {
    this.server = serveEveryRequest(
      (req, res) => this.handle(req, res),
      (res) => sendAwsJson(res, 500, { __type: 'InternalException', message: 'An internal error occurred.' }),
      (line) => this.options.log?.(`event bus: ${line}`),
    );
    return listenOnLoopback(this.server, this.clock);
  }

  async stop(): Promise<void> {
    for (const rule of this.rules.values()) rule.schedule?.abort(new Error('the event bus stopped'));
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, answer: unknown): void => sendAwsJson(res, status, answer);
    let body: Buffer;
    try {
      body = await readBody(req, MAX_REQUEST_BYTES);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      return send(413, {
        __type: 'ValidationException',
        message: `Total size of the entries in the request is over the limit (${MAX_REQUEST_BYTES} bytes).`,
      });
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = parseJsonObject(body);
    if (!input) {
      return send(400, {
        __type: 'SerializationException',
        message: 'The request body must be a JSON object',
      });
    }
    if (target === 'AWSEvents.PutEvents') {
      const problem = entriesProblem(input.Entries);
      if (problem) return send(400, { __type: 'ValidationException', message: problem });
      const mistyped = mistypedMember(input.Entries as Record<string, unknown>[]);
      if (mistyped) return send(400, { __type: 'SerializationException', message: mistyped });
      return send(200, this.putEvents(input.Entries as Record<string, unknown>[]));
    }
    if (target === 'AWSEvents.TestEventPattern') {
      try {
        const pattern: unknown = JSON.parse(String(input.EventPattern));
        validatePattern(pattern);
        return send(200, { Result: matchesPattern(pattern, JSON.parse(String(input.Event))) });
      } catch (err) {
        return send(400, {
          __type: 'InvalidEventPatternException',
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
    send(400, {
      __type: 'UnknownOperationException',
      message: `The local event bus does not implement '${target}'`,
    });
  }

  private putEvents(entries: Record<string, unknown>[]): unknown {
    let failed = 0;
    const results = entries.map((entry) => {
      const error = (code: string, message: string) => {
        failed++;
        return { ErrorCode: code, ErrorMessage: message };
      };
      const bus = typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default';
      if (bus !== this.name && bus !== this.arn)
        return error('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      for (const field of ['Source', 'DetailType', 'Detail']) {
        if (typeof entry[field] !== 'string' || entry[field] === '') {
          return error(
            'InvalidArgument',
            `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
          );
        }
      }
      let detail: unknown;
      try {
        detail = JSON.parse(String(entry.Detail));
      } catch {
        return error('MalformedDetail', 'Detail is malformed.');
      }
      const event = this.envelope({
        source: String(entry.Source),
        detailType: String(entry.DetailType),
        detail,
        resources: Array.isArray(entry.Resources) ? (entry.Resources as string[]) : [],
        time: typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : undefined,
      });
      this.publish(event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }
}

/** The JSON token names AWS's deserializer uses in its messages. */
function tokenOf(value: unknown): string {
  if (value === null) return 'VALUE_NULL';
  if (Array.isArray(value)) return 'START_ARRAY';
  if (typeof value === 'object') return 'START_OBJECT';
  if (typeof value === 'boolean') return value ? 'VALUE_TRUE' : 'VALUE_FALSE';
  return typeof value === 'number' ? 'NUMBER_VALUE' : 'STRING_VALUE';
}

/**
 * An entry member of the wrong JSON type. AWS's JSON deserializer refuses the whole request before
 * any entry is put (400 SerializationException, e.g. "STRING_VALUE cannot be converted to Date" for
 * a string Time, as async-aws/aws#1395 recorded); a null member counts as absent.
 */
function mistypedMember(entries: Record<string, unknown>[]): string | undefined {
  const strings = ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'];
  for (const entry of entries) {
    for (const field of strings) {
      const v = entry[field];
      if (v !== undefined && v !== null && typeof v !== 'string')
        return `${tokenOf(v)} cannot be converted to String`;
    }
    if (entry.Time !== undefined && entry.Time !== null && typeof entry.Time !== 'number')
      return `${tokenOf(entry.Time)} cannot be converted to Date`;
    const resources = entry.Resources;
    if (resources !== undefined && resources !== null) {
      if (!Array.isArray(resources)) return `${tokenOf(resources)} cannot be converted to a list of String`;
      const bad: unknown = (resources as unknown[]).find((r) => typeof r !== 'string');
      if (bad !== undefined) return `${tokenOf(bad)} cannot be converted to String`;
    }
  }
  return undefined;
}

/** Why PutEvents' Entries is not what EventBridge accepts (1 to 10 objects), or undefined. */
function entriesProblem(entries: unknown): string | undefined {
  if (!Array.isArray(entries)) {
    return "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null";
  }
  if (entries.length < 1 || entries.length > MAX_ENTRIES) {
    return `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}, inclusive (got ${entries.length})`;
  }
  const bad = entries.findIndex((e) => e === null || typeof e !== 'object' || Array.isArray(e));
  if (bad >= 0) {
    return `1 validation error detected: Value at 'entries.${bad + 1}' failed to satisfy constraint: Member must be a PutEventsRequestEntry object`;
  }
  return undefined;
}

/**
 * The period of an EventBridge `rate(value unit)` schedule, in seconds (a positive whole value;
 * `minute` for 1, `minutes` otherwise, likewise hours and days, as EventBridge requires). `cron(…)`
 * schedules are not served locally.
 */
export function ratePeriodSeconds(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  const value = rate ? Number(rate[1]) : NaN;
  const unit = rate?.[2] ?? '';
  if (!rate || value < 1 || (value === 1) !== !unit.endsWith('s')) {
    throw new Error(
      `schedule expression '${expression}' is not a rate EventBridge accepts: use rate(1 minute), rate(N minutes), rate(N hours) or rate(N days) (cron schedules are not served locally)`,
    );
  }
  const seconds = { minute: 60, hour: 3600, day: 86_400 }[
    unit.replace(/s$/, '') as 'minute' | 'hour' | 'day'
  ];
  return value * seconds;
}
