/** Assertions on the CommandError a worker service rejects with. */
import { expect } from 'vitest';
import { CommandError, type ErrorCodeValue } from '../../protocol/outcome.ts';

/** Awaits `promise` and checks that it rejected with a CommandError of `code`. */
export async function failsWith(promise: Promise<unknown>, code: ErrorCodeValue): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CommandError);
  expect((error as CommandError).code).toBe(code);
}
