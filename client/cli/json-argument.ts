/** A JSON object given as an argument (a profile, a merge patch). */
import { UsageError } from './usage-error.ts';

export function parseJsonObject(text: string, command: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('the argument is not valid JSON', command);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('expected a JSON object, like {"firstName":"Alice"}', command);
  return value as Record<string, unknown>;
}
