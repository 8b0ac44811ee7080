import type { Logger } from '@obsdemo/telemetry';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, type Registry } from 'prom-client';
import type { CatalogPool } from './catalog-pool.js';
import { SCENARIOS, type Scenario } from './mix.js';
import { planRequest } from './scenarios.js';

export type Outcome =
  'success' | 'client_error' | 'rate_limited' | 'server_error' | 'timeout' | 'network_error';

export function outcomeOf(status: number): Outcome {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'success';
}

export interface LoadMetrics {
  requests: Counter<'scenario' | 'outcome'>;
  duration: Histogram<'scenario'>;
  dropped: Counter<'scenario'>;
}

export function createLoadMetrics(
  registry: Registry<OpenMetricsContentType>,
  targetRps: number,
): LoadMetrics {
  const metrics: LoadMetrics = {
    requests: new Counter({
      name: 'loadgen_requests_total',
      help: 'Requests sent, by scenario and outcome.',
      labelNames: ['scenario', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'loadgen_request_duration_seconds',
      help: 'Request latency seen by the load generator, by scenario.',
      labelNames: ['scenario'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'loadgen_requests_dropped_total',
      help: 'Scheduled requests not sent because the in-flight cap was reached, by scenario.',
      labelNames: ['scenario'],
      registers: [registry],
    }),
  };
  new Gauge({ name: 'loadgen_target_rps', help: 'Configured request rate.', registers: [registry] }).set(
    targetRps,
  );
  for (const scenario of SCENARIOS) metrics.dropped.inc({ scenario }, 0);
  return metrics;
}

export function registerInFlightGauge(
  registry: Registry<OpenMetricsContentType>,
  inFlight: () => number,
): void {
  new Gauge({
    name: 'loadgen_in_flight_requests',
    help: 'Requests sent and not yet answered.',
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });
}

/** A body that is not JSON teaches the pool nothing; it must not turn a 200 into an error. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface RunnerOptions {
  targetUrl: string;
  token?: string;
  timeoutMs: number;
  pool: CatalogPool;
  metrics: LoadMetrics;
  logger: Logger;
  random?: () => number;
}

/** Sends one planned request through the gateway and counts how it went; never rejects. */
export function createRunner(options: RunnerOptions): (scenario: Scenario) => Promise<void> {
  const base = options.targetUrl.replace(/\/$/, '');
  let sequence = 0;
  return async (picked) => {
    const plan = planRequest(picked, options.pool, options.random, ++sequence);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (plan.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    const stopTimer = options.metrics.duration.startTimer({ scenario: plan.scenario });
    let outcome: Outcome;
    try {
      const res = await fetch(`${base}${plan.path}`, {
        method: plan.method,
        headers,
        body: plan.body === undefined ? undefined : JSON.stringify(plan.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await res.text();
      outcome = outcomeOf(res.status);
      if (res.ok && plan.method === 'GET') options.pool.learn(parseJson(text));
      if (res.ok && plan.reserves) for (const r of plan.reserves) options.pool.reserve(r.id, r.quantity);
      if (outcome === 'server_error') {
        options.logger.debug('request failed', {
          scenario: plan.scenario,
          path: plan.path,
          status: res.status,
        });
      }
    } catch (error) {
      outcome = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network_error';
      options.logger.debug('request failed', { scenario: plan.scenario, path: plan.path, err: error });
    }
    stopTimer();
    options.metrics.requests.inc({ scenario: plan.scenario, outcome });
  };
}
