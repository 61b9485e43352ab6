/**
 * The `detail` of a 400 for a request that failed its route's schema: what was wrong and where, in words a
 * client's author can act on ("query parameter limit must be a whole number"), each problem once.
 * fastify's own message repeats the part of the request ("querystring querystring/limit ...") and names
 * an anyOf's every branch; this reads ajv's errors instead.
 */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const PARTS: Record<string, string> = {
  body: 'body',
  querystring: 'query parameter',
  params: 'path segment',
  headers: 'header',
};

/** Patterns that mean something simpler than their regular expression. */
const PATTERN_WORDS: Record<string, string> = {
  '^[0-9]+$': 'must be a whole number',
};

/** Most problems named in one detail; the rest are counted. */
const MAX_NAMED = 5;

function messageOf(error: SchemaError): string {
  if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
    return `must be one of ${error.params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  if (error.keyword === 'pattern') {
    const words = PATTERN_WORDS[String(error.params.pattern)];
    if (words !== undefined) return words;
  }
  return error.message ?? `fails ${error.keyword}`;
}

function subjectOf(context: string | undefined, error: SchemaError): string {
  const part = PARTS[context ?? ''] ?? context ?? 'request';
  const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (path === '') return part === 'body' ? 'the body' : `the ${part}s`;
  return part === 'body' ? `body field ${path}` : `${part} ${path}`;
}

export function validationDetail(context: string | undefined, errors: readonly SchemaError[]): string {
  // An anyOf reports each branch's failure and then itself: the branches are the alternatives.
  const alternatives = errors.some((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const specific = errors.filter((error) => error.keyword !== 'anyOf' && error.keyword !== 'oneOf');
  const named = [
    ...new Set(
      (specific.length > 0 ? specific : errors).map((e) => `${subjectOf(context, e)} ${messageOf(e)}`),
    ),
  ];
  if (named.length === 0) return `the ${PARTS[context ?? ''] ?? 'request'} is not valid`;
  const shown = named.slice(0, MAX_NAMED).join(alternatives ? ', or ' : '; ');
  return named.length > MAX_NAMED ? `${shown}; and ${named.length - MAX_NAMED} more` : shown;
}
