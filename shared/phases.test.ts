// The phase times both orchestrators record, from what their steps answered.
import { describe, expect, it } from 'vitest';
import { phasesOf } from './phases.ts';

describe('phasesOf', () => {
  it('takes each phase from the step that saw it', () => {
    expect(
      phasesOf({
        admission: { at: 't0' },
        mask: { present: true, at: 't1' },
        acquire: { at: 't2' },
        ready: { status: 'ready', at: 't3' },
        inference: { startedAt: 't4', at: 't5' },
      }),
    ).toEqual({
      RECEIVED: 't0',
      MASK_READY: 't1',
      ENDPOINT_ACQUIRED: 't2',
      ENDPOINT_READY: 't3',
      INFERRING: 't4',
      INFERRED: 't5',
    });
  });

  it('uses the next step for a phase reached by a wake-up, and leaves out phases not reached', () => {
    expect(
      phasesOf({
        admission: { at: 't0' },
        mask: { present: true },
        acquire: { at: 't2' },
        ready: { status: 'ready' },
        inference: { startedAt: 't4', at: 't5' },
      }),
    ).toMatchObject({ MASK_READY: 't2', ENDPOINT_READY: 't4' });
    expect(phasesOf({ admission: { at: 't0' }, mask: { present: false, at: 't1' } })).toEqual({
      RECEIVED: 't0',
    });
    // Woken for the mask, then failed before acquiring: the mask's time is unknown, so it is left out.
    expect(phasesOf({ admission: { at: 't0' }, mask: { present: true } })).toEqual({ RECEIVED: 't0' });
    // InService seen with its time, then the inference failed: the endpoint phase is still recorded.
    expect(
      phasesOf({ admission: { at: 't0' }, acquire: { at: 't2' }, ready: { status: 'ready', at: 't3' } }),
    ).toEqual({ RECEIVED: 't0', ENDPOINT_ACQUIRED: 't2', ENDPOINT_READY: 't3' });
  });
});
