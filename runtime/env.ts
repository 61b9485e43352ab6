/**
 * Twelve-factor configuration: every setting comes from an environment variable with a documented
 * default. Each process declares its settings as a spec; `loadConfig` parses them all and reports every
 * bad one at once. The README's configuration table lists the same names (a test keeps them in step).
 */
export interface Setting<T> {
  env: string;
  default: string;
  doc: string;
  parse: (raw: string) => T;
}

export type Spec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Spec> = { [K in keyof S]: ReturnType<S[K]['parse']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig<S extends Spec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    const raw = env[setting.env] ?? setting.default;
    try {
      out[key] = setting.parse(raw);
    } catch (err) {
      problems.push(`${setting.env}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  return out as ConfigOf<S>;
}

export const text = (env: string, def: string, doc: string): Setting<string> => ({
  env,
  default: def,
  doc,
  parse: (s) => s,
});

export const integer = (
  env: string,
  def: number,
  doc: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): Setting<number> => ({
  env,
  default: String(def),
  doc,
  parse: (s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`expected an integer from ${min} to ${max}`);
    return n;
  },
});

export const oneOf = <T extends string>(
  env: string,
  def: T,
  doc: string,
  values: readonly T[],
): Setting<T> => ({
  env,
  default: def,
  doc,
  parse: (s) => {
    if (!values.includes(s as T)) throw new Error(`expected one of ${values.join(', ')}`);
    return s as T;
  },
});

export const flag = (env: string, def: boolean, doc: string): Setting<boolean> => ({
  env,
  default: String(def),
  doc,
  parse: (s) => {
    if (['1', 'true', 'yes'].includes(s.toLowerCase())) return true;
    if (['0', 'false', 'no', ''].includes(s.toLowerCase())) return false;
    throw new Error('expected true or false');
  },
});

/** Renders a spec as Markdown table rows (used to check the README's table). */
export function describeSpec(spec: Spec): { env: string; default: string; doc: string }[] {
  return Object.values(spec).map(({ env, default: def, doc }) => ({ env, default: def, doc }));
}
