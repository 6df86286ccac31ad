import { describe, expect, it } from 'vitest';
import {
  decodeEventKey,
  errorKey,
  inputImageKey,
  inputMaskKey,
  outputKey,
  parseEventKey,
  parseInputKey,
} from './keys.ts';

describe('key builders', () => {
  it('build the documented keys', () => {
    expect(inputImageKey('u1', 'chair')).toBe('users/u1/input/chair_image.png');
    expect(inputMaskKey('u1', 'chair')).toBe('users/u1/input/chair_mask.png');
    expect(outputKey('sf', 'u1', 'chair')).toBe('users/u1/output/sf/chair.ply');
    expect(errorKey('ldf', 'u1', 'chair')).toBe('users/u1/output/ldf/chair_error.json');
  });

  it('take any name a person gives a file, and keep it byte for byte', () => {
    for (const name of ['my chair', 'a+b', '100%', 'a%2Fb', 'Stühl', '椅子', 'émoji 🪑', "o'neil (1)"]) {
      expect(outputKey('sf', 'Jürgen M', name)).toBe(`users/Jürgen M/output/sf/${name}.ply`);
    }
  });

  it('refuse unsafe segments', () => {
    expect(() => inputImageKey('..', 'chair')).toThrow(/relative path segment/);
    expect(() => errorKey('sf', '', 'x')).toThrow(/user id is empty/);
    expect(() => outputKey('sf', 'u1', 'a\nb')).toThrow(/control character U\+000A/);
  });
});

describe('parseInputKey', () => {
  it('parses image and mask keys, whatever the text of user and name', () => {
    expect(parseInputKey('users/u-1/input/my.chair_image.png')).toEqual({
      ok: true,
      value: { userId: 'u-1', name: 'my.chair', kind: 'image', key: 'users/u-1/input/my.chair_image.png' },
    });
    expect(parseInputKey('users/u/input/x_mask.png')).toMatchObject({ ok: true, value: { kind: 'mask' } });
    for (const [user, name] of [
      ['u1', 'my chair'],
      ['u1', 'a+b'],
      ['u1', '100%'],
      ['u1', 'a%2Fb'],
      ['Jürgen', 'Stühl'],
      ['u1', '.hidden'],
      ['u1', '%2E%2E'],
    ] as const) {
      expect(parseInputKey(`users/${user}/input/${name}_image.png`)).toMatchObject({
        ok: true,
        value: { userId: user, name },
      });
    }
  });

  it.each([
    ['uploads/u/input/x_image.png', "does not start with 'users/'"],
    ['users/u/output/x_image.png', 'is not of the form users/{userId}/input/{name}_image.png'],
    ['users/u/input/deeper/x_image.png', 'is not of the form'],
    ['users/u/input/../x_image.png', "holds the relative path segment '..'"],
    ['users/u/input/x.png', "must end with '_image.png' or '_mask.png'"],
    ['users/u/input/x_image.jpg', "must end with '_image.png'"],
    ['users//input/x_image.png', 'user id is empty'],
    ['users/../input/x_image.png', "user id '..' is a relative path segment"],
    ['users/u/input/_image.png', 'name is empty'],
    ['users/u/input/a\u0007b_image.png', 'contains the control character U+0007'],
    ['users/u/input/a\u0085_image.png', 'contains the control character U+0085'],
    ['users/u\tv/input/a_image.png', 'user id "u\\tv" contains the control character U+0009'],
    ['users/u/input/a\ud800_image.png', 'is not valid Unicode text'],
    [`users/u/input/${'x'.repeat(1100)}_image.png`, "longer than S3's 1024-byte limit"],
    [`users/u/input/${'é'.repeat(520)}_image.png`, "longer than S3's 1024-byte limit"],
    [`users/u/input/${'x'.repeat(1000)}_image.png`, 'result keys'],
  ])('rejects %j: %s', (key, reason) => {
    const result = parseInputKey(key);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('keeps the user of a key in their input folder, so the rejection is listed with their jobs', () => {
    expect(parseInputKey('users/u9/input/a\u0001_image.png')).toMatchObject({ ok: false, userId: 'u9' });
    expect(parseInputKey('users/u9/uploads/a_image.png')).not.toHaveProperty('userId');
  });

  it('accepts the longest key whose results still fit in S3, and not one byte more', () => {
    const longest = 1024 - ('output/ldf/_error.json'.length - 'input/_image.png'.length);
    const base = 'users/u/input/_image.png'.length;
    const fits = parseInputKey(`users/u/input/${'n'.repeat(longest - base)}_image.png`);
    expect(fits.ok).toBe(true);
    const name = fits.ok ? fits.value.name : '';
    expect(Buffer.byteLength(errorKey('ldf', 'u', name))).toBe(1024);
    expect(parseInputKey(`users/u/input/${'n'.repeat(longest - base + 1)}_image.png`).ok).toBe(false);
  });
});

describe('event keys', () => {
  it('are read as EventBridge delivers them: the key as stored, never decoded', () => {
    for (const key of [
      'users/u/input/a+b_image.png',
      'users/u/input/a b_image.png',
      'users/u/input/100%_image.png',
      // A literal '%2F' in a name is three characters, not a slash: decoding would move the file.
      'users/u/input/a%2Fb_image.png',
    ]) {
      expect(decodeEventKey(key)).toEqual({ ok: true, value: key });
    }
    expect(parseEventKey('users/u/input/a%2Fb_image.png')).toMatchObject({
      ok: true,
      value: { name: 'a%2Fb' },
    });
    // An encoded dot-dot is a user id of six characters, not the parent folder.
    expect(parseEventKey('users/%2E%2E/input/x_image.png')).toMatchObject({
      ok: true,
      value: { userId: '%2E%2E' },
    });
    expect(parseEventKey('users/../input/x_image.png').ok).toBe(false);
  });
});
