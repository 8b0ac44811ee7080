const SECRET_KEY =
  /pass(word|wd)?$|secret|token|authorization|api[-_]?key|cookie|credential|private[-_]?key/i;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi;

export const REDACTED = '[REDACTED]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Masks passwords embedded in connection URLs such as postgres://user:pw@host/db. */
export function redactUrls(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** Deep copy with secret-looking keys masked; safe to hand to a log line. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error)
    return { name: value.name, message: redactUrls(value.message), stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1);
  return out;
}
