/** Reads a small JSON body from a stream, with a size limit and prototype-poisoning protection. */
import { HttpProblem } from '../problem.ts';

export async function readJsonBody(
  stream: AsyncIterable<Buffer | string>,
  maxBytes: number,
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
