/** Entity tags in HTTP headers: stored etags are bare; on the wire they are quoted (RFC 9110 §8.8.3). */
import type { FastifyRequest } from 'fastify';
import {
  CONDITIONAL_HEADER_NAMES,
  type ConditionalHeaders,
  conditionalHeaderProblem,
  parseTagList,
} from '../protocol/preconditions.ts';
import { HttpProblem } from './problem.ts';

export const quoteEtag = (etag: string): string => `"${etag}"`;

/** The first entity tag of an If-Match / If-None-Match header, unquoted; `*` stays `*`. Weak tags are compared as strong. */
export function parseEtagHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0]?.trim() ?? '';
  if (first === '*') return '*';
  const match = /^(?:W\/)?"([^"]*)"$/.exec(first);
  return match?.[1] ?? first;
}

/** True if an If-None-Match header lists `etag` (or is `*`). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || parseEtagHeader(t) === etag;
  });
}

/**
 * The conditional headers of a request, as text for the worker to evaluate (protocol/preconditions.ts);
 * a malformed entity-tag list is a 400 here. Repeated list headers arrive joined by Node (`a, b`).
 */
export function conditionalHeaders(request: FastifyRequest): ConditionalHeaders {
  const out: ConditionalHeaders = {};
  for (const [field, name] of Object.entries(CONDITIONAL_HEADER_NAMES) as [
    keyof ConditionalHeaders,
    string,
  ][]) {
    const raw = request.headers[name];
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (value !== undefined) out[field] = value;
  }
  const problem = conditionalHeaderProblem(out);
  if (problem !== undefined) throw new HttpProblem(400, problem);
  return out;
}

/** A conditional change that names one version (If-Match with tags, not `*`) cannot apply twice. */
export function namesOneVersion(headers: ConditionalHeaders): boolean {
  if (headers.ifMatch === undefined) return false;
  const list = parseTagList(headers.ifMatch);
  return list !== undefined && list !== '*';
}
