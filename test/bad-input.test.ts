// The bad-input suite: every kind of upload a production user can get wrong, sent together beside a
// good job and legitimate odd names, to each orchestrator in each wait mode, on the scenario
// contract's harness (support/scenario-world.ts). Each bad input must end REJECTED (at admission) or
// FAILED (at inference) with a reason that names the problem, with an `_error.json` when its key names
// a user and a name, and exactly one notification; the good job and the odd names (space, '+', '%',
// an encoded slash, non-ASCII, '#' in a user id) must complete with their PLY at
// `users/{u}/output/{o}/{name}.ply`; and afterwards nothing is left running and `dvs check` finds
// nothing wrong. Cases covered elsewhere are not repeated here: a key outside `input/`
// (test/scenarios/contract.ts, "a bad upload"), keys over 1024 bytes at S3 itself and path-escaping
// requests (local/s3/service.test.ts, test/hostile-requests.test.ts), a mask delivered as an image
// (test/activities.test.ts), an image over the byte limit (container/server.test.ts: 25 MiB would
// cost seconds to upload; the bomb below takes the same TooLarge path through both orchestrators).
import { randomUUID } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { checkInvariants } from '../check/invariants.ts';
import { readSnapshot } from '../check/snapshot.ts';
import { encodePng, type Image } from '../container/src/images.ts';
import { generateSample, samplePngs } from '../container/src/samples.ts';
import type { S3ObjectCreatedEvent } from '../shared/aws-events.ts';
import type { WaitMode } from '../shared/config.ts';
import { UNKNOWN_USER } from '../shared/job-store.ts';
import { errorKey, inputImageKey, inputMaskKey, outputKey, type Orchestrator } from '../shared/keys.ts';
import { waitingForMask } from './scenarios/contract.ts';
import { SCENARIO_SETTINGS, startWorld, type World } from './support/scenario-world.ts';
import { stopWhenIdle, warmHolder } from './support/warm-holder.ts';

/** One upload and what it must end as. */
interface Case {
  /** The bad (or odd) input, as the closing note names it. */
  what: string;
  /** The user the job is recorded under. */
  user: string;
  /** The upload's name, or its whole key when the key names no upload. */
  find: string;
  status: 'COMPLETED' | 'FAILED' | 'REJECTED';
  /** What the job's recorded reason must say (FAILED and REJECTED). */
  reason?: RegExp;
}

const BAD = 'bad';
const GONE = 'gone + 100% ü';
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pngs = samplePngs(generateSample('blob', 64));

/** A 64x64 mask, every pixel at `level` (0 black, 1 a boolean mask written as 8-bit, 255 white). */
function flatMask(level: number): Buffer {
  const mask: Image = { width: 64, height: 64, rgba: new Uint8Array(64 * 64 * 4).fill(level) };
  for (let j = 3; j < mask.rgba.length; j += 4) mask.rgba[j] = 255;
  return encodePng(mask);
}

/**
 * A PNG bomb: a few kilobytes whose header declares 50000x50000 RGBA pixels (10 GB decoded), with a
 * real zlib stream of zero rows behind it. It must be refused from the header, before any decoding.
 */
function pngBomb(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50_000, 0);
  ihdr.writeUInt32BE(50_000, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(4 * 2 ** 20))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Legitimate names that look odd: each must complete, its PLY under exactly its own text. */
const ODD_NAMES: { what: string; user: string; name: string }[] = [
  { what: "a name with a space, '+' and '%'", user: 'u', name: 'my chair+1 100%' },
  { what: "an encoded slash '%2F' (a literal name, never a folder)", user: 'u', name: 'a%2Fb' },
  {
    what: "a non-ASCII user with '#', a non-ASCII name with an emoji",
    user: 'Jürgen #1',
    name: 'Stühl 椅子 🪑',
  },
  { what: 'the good job beside the bad ones', user: 'ok', name: 'good' },
];

/** Uploads whose objects are wrong: admitted, then FAILED by the model server's check, with a reason. */
const BAD_OBJECTS: { what: string; name: string; image: Buffer; mask: Buffer; reason: RegExp }[] = [
  {
    what: 'non-image bytes',
    name: 'text',
    image: Buffer.from('this is a text file, not a picture\n'),
    mask: pngs.mask,
    reason: /NotAnImage: image is not a PNG or JPEG image/,
  },
  {
    what: 'a truncated PNG',
    name: 'truncated',
    image: pngs.image.subarray(0, Math.floor(pngs.image.length * 0.6)),
    mask: pngs.mask,
    reason: /NotAnImage: image could not be decoded as PNG/,
  },
  {
    what: 'a PNG bomb (kilobytes declaring 50000x50000 pixels)',
    name: 'bomb',
    image: pngBomb(),
    mask: pngs.mask,
    reason: /TooLarge: image is 50000x50000 = 2500000000 pixels; the limit is \d+/,
  },
  {
    what: 'image and mask of different sizes',
    name: 'mismatch',
    image: pngs.image,
    mask: samplePngs(generateSample('blob', 32)).mask,
    reason: /image is 64x64 but mask is 32x32; they must match/,
  },
  {
    what: 'an empty (all-zero) mask',
    name: 'black',
    image: pngs.image,
    mask: flatMask(0),
    reason: /mask is all black/,
  },
  {
    what: 'an all-ones mask (0/1 values, as a boolean array saved at 8 bits)',
    name: 'ones',
    image: pngs.image,
    mask: flatMask(1),
    reason: /brightest is 1\).*saved as 0 and 255/,
  },
];

/** Keys S3 stores but that are not uploads of this project: REJECTED at admission, with the reason. */
const BAD_KEYS: { what: string; key: string; user: string; reason: RegExp }[] = [
  {
    what: 'a key at the bucket root',
    key: 'chair_image.png',
    user: UNKNOWN_USER,
    reason: /does not start with 'users\/'/,
  },
  {
    what: 'a key one folder too deep',
    key: `users/${BAD}/input/sub/deep_image.png`,
    user: UNKNOWN_USER,
    reason: /is not of the form users\/\{userId\}\/input\/\{name\}_image.png/,
  },
  {
    what: "a '..' segment",
    key: `users/${BAD}/input/../trick_image.png`,
    user: UNKNOWN_USER,
    reason: /holds the relative path segment '\.\.'/,
  },
  {
    what: 'a control character (newline) in the name',
    key: `users/${BAD}/input/line\nbreak_image.png`,
    user: BAD,
    reason: /contains the control character U\+000A/,
  },
];

/** Keys only an event can carry (S3 refuses to store them locally): delivered as events on the bus. */
const BAD_EVENT_KEYS: { what: string; key: string; user: string; reason: RegExp }[] = [
  {
    what: 'a key over 1024 bytes',
    key: `users/${BAD}/input/${'x'.repeat(1100)}_image.png`,
    user: UNKNOWN_USER,
    reason: /is \d+ bytes, longer than S3's 1024-byte limit/,
  },
  {
    what: "a 1020-byte key whose results' keys would pass 1024 bytes",
    key: `users/${BAD}/input/${'n'.repeat(1020 - `users/${BAD}/input/_image.png`.length)}_image.png`,
    user: BAD,
    reason: /result keys .* would pass S3's 1024-byte limit; use a key of at most 1018 bytes/,
  },
];

async function runBadInputs(world: World, s3: S3Client): Promise<Case[]> {
  const put = (key: string, body: Buffer): Promise<unknown> =>
    s3.send(new PutObjectCommand({ Bucket: world.cloud.bucket, Key: key, Body: body }));
  const cases: Case[] = [];

  // Everything at once: the bad uploads run beside the good job on the same endpoint.
  await Promise.all([
    ...ODD_NAMES.map(async ({ what, user, name }) => {
      cases.push({ what, user, find: name, status: 'COMPLETED' });
      await put(inputImageKey(user, name), pngs.image);
      await put(inputMaskKey(user, name), pngs.mask);
    }),
    (async () => {
      cases.push({
        what: 'an all-white mask (the whole picture)',
        user: BAD,
        find: 'white',
        status: 'COMPLETED',
      });
      await put(inputImageKey(BAD, 'white'), pngs.image);
      await put(inputMaskKey(BAD, 'white'), flatMask(255));
    })(),
    ...BAD_OBJECTS.map(async ({ what, name, image, mask, reason }) => {
      cases.push({ what, user: BAD, find: name, status: 'FAILED', reason });
      await put(inputImageKey(BAD, name), image);
      await put(inputMaskKey(BAD, name), mask);
    }),
    ...BAD_KEYS.map(async ({ what, key, user, reason }) => {
      cases.push({ what, user, find: key, status: 'REJECTED', reason });
      await put(key, pngs.image);
    }),
    // A mask with no image: its event goes to the mask waker only; nobody waits, no job is made.
    put(inputMaskKey(BAD, 'orphan'), pngs.mask),
  ]);

  // Keys S3 would not store, in an event as any sender on the bus could put them: a routed upload's
  // event with its key replaced.
  for (let i = 0; world.uploadEvents.length === 0 && i < 400; i++) await pause(25);
  const template = world.uploadEvents[0]!;
  const detail = template.detail as S3ObjectCreatedEvent['detail'];
  for (const { what, key, user, reason } of BAD_EVENT_KEYS) {
    cases.push({ what, user, find: key, status: 'REJECTED', reason });
    world.cloud.bus.publish({
      ...template,
      id: randomUUID(),
      detail: { ...detail, object: { ...detail.object, key } },
    });
  }

  // An object deleted between its event and the job's read: the image's event has admitted the job,
  // which waits for its mask; the image goes, then the mask comes, so the read comes after the delete.
  // An odd name, so the mask's own event (event mode: the waker) finds the waiting job by its text.
  cases.push({
    what: 'an image deleted between its event and the read',
    user: BAD,
    find: GONE,
    status: 'FAILED',
    reason: /image s3:\/\/.* does not exist/,
  });
  await put(inputImageKey(BAD, GONE), pngs.image);
  await waitingForMask(world, BAD, GONE);
  await s3.send(new DeleteObjectCommand({ Bucket: world.cloud.bucket, Key: inputImageKey(BAD, GONE) }));
  await put(inputMaskKey(BAD, GONE), pngs.mask);
  return cases;
}

async function checkOutcomes(world: World, cases: Case[], releaseHolder: () => Promise<void>): Promise<void> {
  const o = world.orchestrator;
  for (const c of cases) await world.waitForEnding(c.user, c.find, 90_000);
  await world.quiesce(90_000);
  // Every job has ended: the holder goes, and plays the idle stop its lease kept the jobs from.
  await releaseHolder();
  await stopWhenIdle(world);
  for (const c of cases) {
    const job = (await world.job(c.user, c.find))!;
    const label = `${c.what}: ${job.status} ${job.reason ?? ''}`;
    expect.soft(job.status, label).toBe(c.status);
    if (c.reason) expect.soft(job.reason, label).toMatch(c.reason);
    const notes = world.notifications.filter((n) => (n.detail as { jobId?: string }).jobId === job.jobId);
    expect
      .soft(
        notes.map((n) => n['detail-type']),
        `${c.what}: one notification`,
      )
      .toEqual([c.status === 'COMPLETED' ? 'Job Completed' : 'Job Failed']);
    if (c.status === 'COMPLETED') {
      expect.soft(job.outputKey, label).toBe(outputKey(o, c.user, c.find));
      expect.soft((await world.object(job.outputKey!))?.startsWith('ply'), `${c.what}: PLY`).toBe(true);
    } else if (c.status === 'FAILED') {
      // Its key named a user and a name: the reason is written where the user looks for results.
      expect.soft(job.errorKey, label).toBe(errorKey(o, c.user, c.find));
      const report = JSON.parse((await world.object(job.errorKey!)) ?? '{}') as {
        status?: string;
        error?: { error?: string; message?: string };
      };
      expect.soft(report, `${c.what}: _error.json`).toMatchObject({
        status: 'FAILED',
        error: { error: 'InferenceInputError' },
      });
      expect.soft(report.error?.message, `${c.what}: _error.json`).toMatch(c.reason!);
    } else {
      // A key that names no upload has no name to hold an artifact: the job item and the event say why.
      expect.soft(job.errorKey, label).toBeUndefined();
    }
  }
  // The encoded slash stayed three characters: nothing landed in a folder 'a'.
  expect(await world.object(`users/u/output/${o}/a/b.ply`)).toBeUndefined();
  // The orphan mask made no job, and every execution is one of the cases: none for the mask.
  expect((await world.job(BAD, 'orphan')) ?? null).toBeNull();
  const executions = await world.executions();
  expect(executions, 'one execution per upload').toHaveLength(cases.length);
  // No execution crashed or hung: each ended, and exactly the failed jobs failed theirs (both
  // orchestrators fail a failed job's execution with its error; a rejection ends it normally).
  expect(executions.filter((e) => e.status !== 'SUCCEEDED' && e.status !== 'FAILED')).toEqual([]);
  expect(executions.filter((e) => e.status === 'FAILED')).toHaveLength(
    cases.filter((c) => c.status === 'FAILED').length,
  );
  // Nothing left holding or running, and `dvs check` agrees.
  const item = await world.endpointItem();
  expect(item.leases, 'no lease left').toEqual({});
  expect(item.waiters, 'no waiter left').toEqual({});
  expect(item.state).toBe('Stopped');
  expect(await world.sageMakerStatus()).toBe('missing');
  expect(checkInvariants(await readSnapshot(world.target)), 'dvs check').toEqual([]);
}

const RUNS: [Orchestrator, WaitMode][] = [
  ['ldf', 'poll'],
  ['ldf', 'event'],
  ['sf', 'poll'],
  ['sf', 'event'],
];

for (const [orchestrator, waitMode] of RUNS) {
  describe(`bad input: ${orchestrator} orchestrator, ${waitMode} wait mode`, () => {
    let world: World;
    let s3: S3Client;
    beforeAll(async () => {
      // A long mask wait, so the deleted-object case's mask (two requests away) can never miss it.
      world = await startWorld(orchestrator, waitMode, {
        settings: { ...SCENARIO_SETTINGS, maskWaitSeconds: 1800 },
      });
      s3 = new S3Client(world.cloud.clientConfig('s3'));
    });
    afterAll(async () => {
      s3?.destroy();
      await world?.stop();
    });

    it('ends every bad input REJECTED or FAILED with its reason, and the good and odd names COMPLETED', async () => {
      onTestFailed(() => {
        // eslint-disable-next-line no-console -- what the functions logged explains a failed run
        console.error(`last function logs:\n${world.functionLogs.slice(-80).join('\n')}`);
      });
      // A warm endpoint: the jobs join it at once instead of polling through a cold start, which
      // keeps the suite quick; the endpoint lifecycle's cold paths are the contract's.
      const holder = await warmHolder(world);
      // The batch may outlast a lease's TTL on a loaded machine: the holder renews, as a long job does.
      let holding = true;
      const renewing = (async () => {
        while (holding) {
          await holder.renew();
          await pause(1000);
        }
      })();
      const stopRenewing = async (): Promise<void> => {
        holding = false;
        await renewing;
      };
      try {
        await checkOutcomes(world, await runBadInputs(world, s3), async () => {
          await stopRenewing();
          await holder();
        });
      } finally {
        await stopRenewing().catch(() => undefined);
      }
    }, 120_000);
  });
}
