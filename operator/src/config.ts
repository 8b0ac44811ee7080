import { hostname } from 'node:os';
import { env } from '@obsdemo/base';
import { z } from 'zod';
import { parsePodLabels } from './reconcile/network-policy.js';
import { parseComponentDefaults } from './reconcile/plan.js';

/** Go-style durations as the chart writes them (`10m`, `30s`, `1h`, `500ms`) → milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 30s, 10m or 1h')
    .default(fallback)
    .transform((v) => {
      const [, n, unit] = /^(\d+)(ms|s|m|h)$/.exec(v) ?? [];
      const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
      return Number(n) * factor;
    });

/** The operator's environment, as charts/obsdemo-operator sets it. */
const OperatorEnvSchema = z.object({
  /** /healthz, /readyz and /metrics. */
  OPERATOR_PORT: env.port(8081),
  OPERATOR_HOST: env.string('0.0.0.0'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], 'one of error, warn, info, debug').default('info'),
  /** Empty: every namespace. */
  WATCH_NAMESPACE: z.string().default(''),
  RESYNC_PERIOD: duration('10m'),
  /**
   * A reconcile still running after this long is aborted (its API requests and helm process cancelled), reported
   * with a Warning Event and a metric, and retried with backoff. A reconcile normally takes seconds.
   */
  RECONCILE_TIMEOUT: duration('2m').refine((ms) => ms > 0, 'a duration above zero, such as 2m'),
  /** Parallel reconciles; a reconcile mostly waits on the API server and helm, so more than the cores. */
  MAX_CONCURRENT_RECONCILES: env.int(4, 1, 32),
  LEADER_ELECT: env.bool(true),
  LEADER_ELECTION_ID: env.string('obsdemo-operator'),
  /**
   * client-go's leader election timings (controller-runtime's LeaseDuration, RenewDeadline, RetryPeriod): how long
   * a standby waits on an unchanged Lease before taking it, how long the leader keeps trying to renew before it
   * stops writing, and the time between attempts.
   */
  LEADER_ELECTION_LEASE_DURATION: duration('15s'),
  LEADER_ELECTION_RENEW_DEADLINE: duration('10s'),
  LEADER_ELECTION_RETRY_PERIOD: duration('2s'),
  /** Where the Lease lives; the pod's namespace in a cluster. */
  POD_NAMESPACE: env.string('default'),
  POD_NAME: env.string(hostname()),
  /**
   * The operator pods' labels (`name=value,name=value`; the chart sets its selector labels), which each demo's
   * Prometheus NetworkPolicy admits so TelemetryVerified can query it. Empty outside a pod.
   */
  OPERATOR_POD_LABELS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parsePodLabels(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * Chart values every demo starts from, keyed by chart name, as JSON (the chart's `componentDefaults`), e.g. image
   * mirrors for an air-gapped cluster. The values a CR implies are applied over them.
   */
  COMPONENT_DEFAULTS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseComponentDefaults(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** The helm binary and charts the operator renders with; the image sets both. */
  HELM_BINARY: env.string('helm'),
  CHARTS_DIR: env.string('/app/charts'),
  /**
   * The Prometheus that TelemetryVerified queries for every demo, instead of each demo's own in-cluster Service
   * (`http://<demo>-prometheus.<namespace>.svc:9090`): for an operator running outside the cluster, where cluster
   * DNS does not resolve (`make run`, the embedded demo). Empty: each demo's own.
   */
  TELEMETRY_PROMETHEUS_URL: z
    .string()
    .default('')
    .refine(
      (v) => v === '' || (URL.canParse(v) && ['http:', 'https:'].includes(new URL(v).protocol)),
      'an http(s) URL, or empty',
    ),
});

/** The operator's environment, checked as a whole too. */
export const OperatorConfigSchema = OperatorEnvSchema.superRefine((config, ctx) => {
  // The leader must stop writing before a standby may take over, with time left for a write in flight to land.
  if (config.LEADER_ELECTION_LEASE_DURATION <= config.LEADER_ELECTION_RENEW_DEADLINE)
    ctx.addIssue({
      code: 'custom',
      path: ['LEADER_ELECTION_LEASE_DURATION'],
      message: 'must be longer than LEADER_ELECTION_RENEW_DEADLINE',
    });
  if (config.LEADER_ELECTION_RENEW_DEADLINE <= 1.2 * config.LEADER_ELECTION_RETRY_PERIOD)
    ctx.addIssue({
      code: 'custom',
      path: ['LEADER_ELECTION_RENEW_DEADLINE'],
      message: 'must be longer than 1.2 × LEADER_ELECTION_RETRY_PERIOD',
    });
});

export type OperatorConfig = z.infer<typeof OperatorConfigSchema>;
