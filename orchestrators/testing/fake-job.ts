// The job both fakes hand the workflows: one upload (`users/user-1/input/chair_*.png`) as the admit
// activity would describe it for either orchestrator, its keys built by shared/keys.ts.
import type { JobContext } from '../../shared/activities.ts';
import { errorKey, inputImageKey, inputMaskKey, outputKey, type Orchestrator } from '../../shared/keys.ts';

export const FAKE_USER = 'user-1';
export const FAKE_NAME = 'chair';

export function fakeJob(orchestrator: Orchestrator): JobContext {
  return {
    orchestrator,
    jobId: 'job-1',
    userId: FAKE_USER,
    name: FAKE_NAME,
    bucket: 'uploads',
    imageKey: inputImageKey(FAKE_USER, FAKE_NAME),
    maskKey: inputMaskKey(FAKE_USER, FAKE_NAME),
    outputKey: outputKey(orchestrator, FAKE_USER, FAKE_NAME),
    errorKey: errorKey(orchestrator, FAKE_USER, FAKE_NAME),
    endpointName: `reconstruct-3d-${orchestrator}`,
  };
}
