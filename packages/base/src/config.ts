import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// JWKS documents may carry private key parts (the gateway refuses those, but the refusal must not print them).
const SECRET_KEY = /pass(word)?|secret|token|key|credential|jwks$/i;
/** Enough of a bad value to recognise it; a whole document would not fit the one line the error promises. */
const SHOWN_CHARS = 80;

function shownValue(raw: string): string {
  const cut = raw.length > SHOWN_CHARS ? `${raw.slice(0, SHOWN_CHARS)}…` : raw;
  // JSON quoting keeps newlines and quotes inside the value from breaking the line.
  return `got ${JSON.stringify(cut)}`;
}

/** One readable line naming the variable; values of secret-looking variables are never echoed. */
function formatIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const key = issue.path.map(String).join('.') || '(environment)';
  const raw = env[key];
  const shown = raw === undefined ? 'it is not set' : SECRET_KEY.test(key) ? 'value hidden' : shownValue(raw);
  return `config error: ${key} must be valid: ${issue.message} (${shown})`;
}

export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new ConfigError(first ? formatIssue(first, env) : 'config error: invalid environment');
}

export interface LoadConfigIo {
  env?: Record<string, string | undefined>;
  writeError?: (line: string) => void;
  exit?: (code: number) => never;
}

/** Parses the environment or stops the process with exactly one line on stderr and exit code 1. */
export function loadConfig<S extends z.ZodType>(schema: S, io: LoadConfigIo = {}): z.infer<S> {
  try {
    return parseConfig(schema, io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    (io.writeError ?? ((line: string) => process.stderr.write(`${line}\n`)))(error.message);
    return (io.exit ?? ((code: number) => process.exit(code)))(1);
  }
}

/** Small, strict building blocks for env schemas (env values are always strings). */
export const env = {
  port: (fallback: number) =>
    z
      .string()
      .regex(/^\d+$/, 'a TCP port number (1-65535)')
      .transform(Number)
      .pipe(z.number().int().min(1, 'a TCP port number (1-65535)').max(65535, 'a TCP port number (1-65535)'))
      .default(fallback),
  int: (fallback: number, min: number, max: number) =>
    z
      .string()
      .regex(/^-?\d+$/, `an integer between ${min} and ${max}`)
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(min, `an integer between ${min} and ${max}`)
          .max(max, `an integer between ${min} and ${max}`),
      )
      .default(fallback),
  ratio: (fallback: number) =>
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'a number between 0 and 1')
      .transform(Number)
      .pipe(z.number().min(0, 'a number between 0 and 1').max(1, 'a number between 0 and 1'))
      .default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], 'one of true, false, 1, 0')
      .transform((v) => v === 'true' || v === '1')
      .default(fallback),
  string: (fallback?: string) =>
    fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback),
  url: () => z.url('a URL'),
};
