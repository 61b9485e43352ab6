/** The standard streams of one in-process `podstore` run: an empty stdin, and stdout/stderr captured as text. */
import { PassThrough } from 'node:stream';

export function cliIo() {
  const capture = () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return { stream, text: () => Buffer.concat(chunks).toString() };
  };
  const out = capture();
  const err = capture();
  return {
    streams: { stdin: new PassThrough().end(), stdout: out.stream, stderr: err.stream },
    out: out.text,
    err: err.text,
  };
}
