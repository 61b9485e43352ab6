/**
 * Reads a small JSON body from a stream, with a size limit, a nesting-depth limit and prototype-poisoning
 * protection.
 */
import { DEFAULT_JSON_MAX_DEPTH, jsonDepthRule, jsonTextTooDeep } from '../../protocol/json-depth.ts';
import { HttpProblem } from '../problem.ts';

export async function readJsonBody(
  stream: AsyncIterable<Buffer | string>,
  maxBytes: number,
  maxDepth = DEFAULT_JSON_MAX_DEPTH,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > maxBytes) throw new HttpProblem(413, `a JSON body is at most ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpProblem(400, 'the body is empty; send a JSON object');
  if (jsonTextTooDeep(text, maxDepth))
    throw new HttpProblem(400, `the body nests too deeply: ${jsonDepthRule(maxDepth)}`);
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (key === '__proto__' || key === 'constructor') throw new SyntaxError(`forbidden key ${key}`);
      return v;
    });
  } catch (error) {
    throw new HttpProblem(400, `the body is not valid JSON (${(error as Error).message})`);
  }
  return value;
}
