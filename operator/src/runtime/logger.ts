/**
 * What the runtime logs through: a subset of winston's Logger (the operator passes @obsdemo/telemetry's
 * createLogger), so the runtime has no logging dependency of its own.
 */
export interface RuntimeLogger {
  debug(message: string, fields?: Record<string, unknown>): unknown;
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  error(message: string, fields?: Record<string, unknown>): unknown;
}

export const silentLogger: RuntimeLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, error_name: error.name };
  return { error: String(error) };
}
