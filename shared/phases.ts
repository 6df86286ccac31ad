// The phase times a job reached, computed in one place from what its workflow saw: the answers of
// its steps. recordOutcome (activities.ts) records them with the job's ending, so neither
// orchestrator has its own copy of the fallbacks below.
import type { JobStatus } from './job-model.ts';

/** Phase times, recorded on the job when it ends. */
export type Phases = Partial<Record<JobStatus, string>>;

/**
 * What a workflow saw of its job, step by step (each an activity's answer, trimmed; absent for a
 * step not reached). The Step Functions state keeps them under `$.admission` and `$.steps`.
 */
export interface StepsSeen {
  admission?: { at?: string } | undefined;
  /** The look that found the mask, or a wake-up by its event (no `at`). */
  mask?: { present: boolean; at?: string | undefined } | undefined;
  acquire?: { at: string } | undefined;
  /** The check that found the endpoint InService, or a wake-up by its event (no `at`). */
  ready?: { status: string; at?: string | undefined } | undefined;
  inference?: { startedAt: string; at: string } | undefined;
}

/**
 * The phase times from the steps seen. A wake-up by a callback or task token carries no time, so a
 * phase reached that way takes the time of the step that followed it (acquire after the mask, the
 * invocation's start after InService); a phase whose step was not reached has no time.
 */
export function phasesOf(seen: StepsSeen): Phases {
  const phases: Phases = {
    RECEIVED: seen.admission?.at,
    MASK_READY: seen.mask?.present ? (seen.mask.at ?? seen.acquire?.at) : undefined,
    ENDPOINT_ACQUIRED: seen.acquire?.at,
    ENDPOINT_READY: seen.ready?.status === 'ready' ? (seen.ready.at ?? seen.inference?.startedAt) : undefined,
    INFERRING: seen.inference?.startedAt,
    INFERRED: seen.inference?.at,
  };
  return Object.fromEntries(Object.entries(phases).filter(([, at]) => typeof at === 'string'));
}
