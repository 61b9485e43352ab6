import { describe, expect, it } from 'vitest';
import { type SseMessage, SseParser } from '../src/live/sse-parser.ts';

function parse(chunks: string[]): { messages: SseMessage[]; last: string | null } {
  const messages: SseMessage[] = [];
  const parser = new SseParser((m) => messages.push(m));
  for (const chunk of chunks) parser.push(chunk);
  return { messages, last: parser.lastEventId };
}

describe('the console SSE parser (fetch streaming, since EventSource cannot send a bearer token)', () => {
  it('reads events split anywhere across chunks, with ids, comments and multi-line data', () => {
    const { messages, last } = parse([
      ': ping\n\nid: 4',
      '1\ndata: {"a":',
      '1}\n',
      '\nid: 42\r\ndata: x\r\ndata: y\r',
      '\n\r\n',
    ]);
    expect(messages).toEqual([
      { id: '41', event: 'message', data: '{"a":1}' },
      { id: '42', event: 'message', data: 'x\ny' },
    ]);
    expect(last).toBe('42');
  });

  it('does not emit an event before its blank line, nor for comments alone', () => {
    const { messages } = parse([': ping\n\n', 'data: half']);
    expect(messages).toEqual([]);
  });

  it('keeps a named event type and strips one leading space only', () => {
    const { messages } = parse(['event: file.created\ndata:  two spaces\n\n']);
    expect(messages).toEqual([{ id: null, event: 'file.created', data: ' two spaces' }]);
  });
});
