/**
 * Nesting depth of JSON documents, measured without recursion, so a hostile document (a few KiB of
 * `[[[[...`) is refused before any recursive code — JSON encoders, msgpack, merge patch — can run out
 * of stack on it. Depth counts containers: `1` and `"x"` are 0 deep, `{}` and `[]` 1, `{"a":[1]}` 2.
 */

/** The depth a JSON body may reach unless JSON_MAX_DEPTH says otherwise. */
export const DEFAULT_JSON_MAX_DEPTH = 32;
/** The largest JSON_MAX_DEPTH accepted: far below where any encoder on the way runs out of stack. */
export const JSON_MAX_DEPTH_CEILING = 256;

export const jsonDepthRule = (max: number) =>
  `a JSON document may nest objects and arrays at most ${max} deep`;

/**
 * Whether the JSON text nests objects or arrays deeper than `max`: brackets outside strings are
 * counted, so this holds for any text, valid JSON or not, in one pass.
 */
export function jsonTextTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

const isContainer = (value: unknown): value is object => {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * Whether a decoded value (plain objects and arrays; anything else is a leaf) nests deeper than `max`.
 * Iterative, so it is safe on values of any depth.
 */
export function valueTooDeep(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (!isContainer(current)) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(current)) {
      if (isContainer(child)) stack.push([child, depth + 1]);
    }
  }
  return false;
}
