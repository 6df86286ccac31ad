// What the server answers when a request cannot be served: 400 with a code that names the problem
// for bad input, 500 for its own faults. Either way it keeps serving.

export type BadRequestCode =
  | 'InvalidJson'
  | 'UnknownTask'
  | 'MissingField'
  | 'InvalidField'
  | 'ObjectNotFound'
  | 'NotAnImage'
  | 'SizeMismatch'
  | 'EmptyMask'
  | 'TooLarge';

export class BadRequest extends Error {
  override readonly name = 'BadRequest';
  constructor(
    readonly code: BadRequestCode,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(
  code: string,
  message: string,
): { status: 'error'; error: { code: string; message: string } } {
  return { status: 'error', error: { code, message } };
}
