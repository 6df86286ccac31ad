// The history check on histories shaped as AWS records them (research note sfn-wire.md 4.4), and
// its controls: the same histories doctored to take a step the definition does not allow.
import { describe, expect, it } from 'vitest';
import { checkSfnHistory, type CheckedEvent } from './sfn-history-check.ts';

/** A Task with one retry then caught into Handle, as in sfn-wire.md 4.4. */
const RETRY_CATCH = {
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Retry: [{ ErrorEquals: ['Lambda.ServiceException'], MaxAttempts: 1 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Handle' }],
      Next: 'Done',
    },
    Handle: { Type: 'Pass', End: true },
    Done: { Type: 'Succeed' },
  },
};

const entered = (id: number, prev: number, type: string, name: string): CheckedEvent => ({
  id,
  previousEventId: prev,
  type: `${type}StateEntered`,
  stateEnteredEventDetails: { name },
});
const exited = (id: number, prev: number, type: string, name: string): CheckedEvent => ({
  id,
  previousEventId: prev,
  type: `${type}StateExited`,
  stateExitedEventDetails: { name },
});
const plain = (id: number, prev: number, type: string): CheckedEvent => ({ id, previousEventId: prev, type });

const retryCatchHistory = (): CheckedEvent[] => [
  plain(1, 0, 'ExecutionStarted'),
  entered(2, 0, 'Task', 'Call'),
  plain(3, 2, 'TaskScheduled'),
  plain(4, 3, 'TaskStarted'),
  plain(5, 4, 'TaskFailed'),
  plain(6, 5, 'TaskScheduled'),
  plain(7, 6, 'TaskStarted'),
  plain(8, 7, 'TaskFailed'),
  exited(9, 8, 'Task', 'Call'),
  entered(10, 9, 'Pass', 'Handle'),
  exited(11, 10, 'Pass', 'Handle'),
  plain(12, 11, 'ExecutionSucceeded'),
];

const MAP = {
  StartAt: 'M',
  States: {
    M: {
      Type: 'Map',
      MaxConcurrency: 1,
      ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } },
      End: true,
    },
  },
};

const iteration = (id: number, prev: number, type: string, index: number): CheckedEvent => ({
  id,
  previousEventId: prev,
  type,
  [`${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`]: { name: 'M', index },
});

/** The Map with MaxConcurrency 1 over two items, ids and links as AWS records them. */
const mapHistory = (): CheckedEvent[] => [
  plain(1, 0, 'ExecutionStarted'),
  entered(2, 0, 'Map', 'M'),
  plain(3, 2, 'MapStateStarted'),
  iteration(4, 3, 'MapIterationStarted', 0),
  entered(5, 4, 'Pass', 'I'),
  exited(6, 5, 'Pass', 'I'),
  iteration(7, 6, 'MapIterationSucceeded', 0),
  iteration(8, 6, 'MapIterationStarted', 1),
  entered(9, 8, 'Pass', 'I'),
  exited(10, 9, 'Pass', 'I'),
  iteration(11, 10, 'MapIterationSucceeded', 1),
  plain(12, 11, 'MapStateSucceeded'),
  exited(13, 11, 'Map', 'M'),
  plain(14, 13, 'ExecutionSucceeded'),
];

describe('checkSfnHistory', () => {
  it('accepts the histories AWS records: a retried Task caught, a Map iterating', () => {
    expect(checkSfnHistory(RETRY_CATCH, retryCatchHistory())).toEqual({
      findings: [],
      statesEntered: 2,
      transitions: 1,
      retries: 1,
    });
    expect(checkSfnHistory(JSON.stringify(MAP), mapHistory())).toMatchObject({
      findings: [],
      statesEntered: 3,
    });
  });

  describe('controls: a doctored history fails', () => {
    it('a transition the definition does not allow', () => {
      const events = retryCatchHistory();
      events[9] = entered(10, 9, 'Succeed', 'Done'); // caught, Call goes to Handle, not to its Next
      events[10] = exited(11, 10, 'Succeed', 'Done');
      const { findings } = checkSfnHistory(RETRY_CATCH, events);
      expect(findings[0]).toMatch(/'Done' follows 'Call' caught, which goes only to Handle/);
      expect(findings).toHaveLength(1);
    });

    it('a state that is not in the definition, or of another type', () => {
      const events = retryCatchHistory();
      events[9] = entered(10, 9, 'Pass', 'Elsewhere');
      expect(checkSfnHistory(RETRY_CATCH, events).findings.join()).toMatch(
        /'Elsewhere' is not in the definition/,
      );
      events[9] = entered(10, 9, 'Wait', 'Handle');
      expect(checkSfnHistory(RETRY_CATCH, events).findings.join()).toMatch(/'Handle' is a Pass state/);
    });

    it('a retry where no Retry is, or more retries than it allows', () => {
      const { Retry: _dropped, ...call } = RETRY_CATCH.States.Call;
      const noRetry = { ...RETRY_CATCH, States: { ...RETRY_CATCH.States, Call: call } };
      expect(checkSfnHistory(noRetry, retryCatchHistory()).findings).toEqual([
        "event 6 (TaskScheduled): 'Call' is retried but has no Retry",
      ]);
      const events = retryCatchHistory();
      events.splice(
        8,
        0,
        plain(9, 8, 'TaskScheduled'),
        plain(10, 9, 'TaskStarted'),
        plain(11, 10, 'TaskFailed'),
      );
      for (const [i, e] of events.entries()) {
        if (i > 10) {
          e.id = i + 1;
          e.previousEventId = i;
        }
      }
      expect(checkSfnHistory(RETRY_CATCH, events).findings).toEqual([
        "event 9 (TaskScheduled): 'Call' retried 2 times, more than its Retry allows",
      ]);
    });

    it('the wrong first state, an iteration that starts elsewhere, an end that is not an End state', () => {
      const events = mapHistory();
      events[1] = entered(2, 0, 'Pass', 'I');
      expect(checkSfnHistory(MAP, events).findings[0]).toMatch(/the machine starts at 'M'/);
      const skipped = mapHistory();
      skipped[10] = iteration(11, 8, 'MapIterationSucceeded', 1); // the iteration never exits I
      expect(checkSfnHistory(MAP, skipped).findings).toEqual([
        "event 11 (MapIterationSucceeded): an iteration of 'M' ends after MapIterationStarted 'M', not an End state",
      ]);
      const early = retryCatchHistory().slice(0, 9);
      early.push(plain(10, 9, 'ExecutionSucceeded'));
      expect(checkSfnHistory(RETRY_CATCH, early).findings[0]).toMatch(/not a top-level End state/);
    });
  });
});
