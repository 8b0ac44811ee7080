import { env } from '@obsdemo/service-kit';
import { z } from 'zod';
import { MixError, formatMix, parseMix } from './mix.js';

export const DEFAULT_MIX = 'browse=60,order=20,analytics=15,enrich=5,batch=0';

export const LoadgenConfigSchema = z.object({
  LOADGEN_PORT: env.port(8089),
  /** All interfaces in a container; tests and local runs pass 127.0.0.1. */
  LOADGEN_HOST: env.string('0.0.0.0'),
  /** The gateway; every request goes through it. */
  LOADGEN_TARGET_URL: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .default('http://127.0.0.1:8080'),
  /** Requests started per second, whatever the target does; 0 keeps the process idle. */
  LOADGEN_RPS: z
    .string()
    .regex(/^\d{1,5}(\.\d{1,3})?$/, 'a number of requests per second between 0 and 10000')
    .transform(Number)
    .pipe(z.number().max(10_000, 'a number of requests per second between 0 and 10000'))
    .default(5),
  LOADGEN_MIX: z
    .string()
    .default(DEFAULT_MIX)
    .transform((text, ctx) => {
      try {
        return parseMix(text);
      } catch (error) {
        if (!(error instanceof MixError)) throw error;
        ctx.addIssue({ code: 'custom', message: `scenario weights like ${DEFAULT_MIX}: ${error.message}` });
        return z.NEVER;
      }
    }),
  /** Stop scheduling after this many seconds (the process stays up for scrapes); 0 runs until stopped. */
  LOADGEN_DURATION_SECONDS: env.int(0, 0, 31_536_000),
  /** Sends beyond this many unanswered requests are dropped and counted, never queued. */
  LOADGEN_MAX_IN_FLIGHT: env.int(50, 1, 100_000),
  LOADGEN_REQUEST_TIMEOUT_MS: env.int(10_000, 10, 300_000),
  /** Bearer token for a gateway in AUTH_MODE=jwt. */
  LOADGEN_TOKEN: z.string().min(1).optional(),
  SHUTDOWN_DRAIN_MS: env.int(10_000, 0, 120_000),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
});

export type LoadgenConfig = z.infer<typeof LoadgenConfigSchema>;

/** What /info shows: the effective settings, never the token. */
export function configSummary(config: LoadgenConfig): Record<string, unknown> {
  const { LOADGEN_TOKEN: token, LOADGEN_MIX: mix, ...rest } = config;
  return { ...rest, LOADGEN_MIX: formatMix(mix), LOADGEN_TOKEN: token === undefined ? undefined : 'set' };
}
