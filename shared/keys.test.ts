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

  it('refuse unsafe segments', () => {
    expect(() => inputImageKey('..', 'chair')).toThrow(/relative path segment/);
    expect(() => outputKey('sf', 'u1', 'a/b')).toThrow(/letters, digits/);
    expect(() => errorKey('sf', '', 'x')).toThrow(/user id is empty/);
  });
});

describe('parseInputKey', () => {
  it('parses image and mask keys', () => {
    expect(parseInputKey('users/u-1/input/my.chair_image.png')).toEqual({
      ok: true,
      value: { userId: 'u-1', name: 'my.chair', kind: 'image', key: 'users/u-1/input/my.chair_image.png' },
    });
    expect(parseInputKey('users/u/input/x_mask.png')).toMatchObject({ ok: true, value: { kind: 'mask' } });
  });

  it.each([
    ['uploads/u/input/x_image.png', "does not start with 'users/'"],
    ['users/u/output/x_image.png', 'is not of the form users/{userId}/input/{name}_image.png'],
    ['users/u/input/deeper/x_image.png', 'is not of the form'],
    ['users/u/input/x.png', "must end with '_image.png' or '_mask.png'"],
    ['users/u/input/x_image.jpg', "must end with '_image.png'"],
    ['users//input/x_image.png', 'user id is empty'],
    ['users/../input/x_image.png', "user id '..' is a relative path segment"],
    ['users/u/input/_image.png', 'name is empty'],
    ['users/u/input/.hidden_image.png', "name '.hidden' must be 1-128 characters"],
    ['users/u/input/a b_image.png', "name 'a b' must be"],
    [`users/u/input/${'x'.repeat(1100)}_image.png`, 'longer than 1024 bytes'],
  ])('rejects %j: %s', (key, reason) => {
    const result = parseInputKey(key);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});

describe('event keys', () => {
  it('decode once, with + as space', () => {
    expect(decodeEventKey('users/u/input/a+b%2Bc_image.png')).toEqual({
      ok: true,
      value: 'users/u/input/a b+c_image.png',
    });
    // %252F is a literal '%2F' in the key, not a slash: decoding twice would be a path traversal.
    expect(decodeEventKey('users/u/input/a%252F_image.png')).toEqual({
      ok: true,
      value: 'users/u/input/a%2F_image.png',
    });
  });

  it('reject bad encoding and keys that decode to unsafe segments', () => {
    expect(decodeEventKey('users/u/input/%E0%A4%A_image.png').ok).toBe(false);
    const traversal = parseEventKey('users/%2E%2E/input/x_image.png');
    expect(traversal.ok).toBe(false);
    expect(parseEventKey('users/u1/input/chair_image.png')).toMatchObject({
      ok: true,
      value: { name: 'chair' },
    });
  });
});
