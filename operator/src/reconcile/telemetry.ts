import { DEMO_SERVICE_GRAPH, formatEdge, serviceGraphQuery, type ServiceGraphEdge } from '@obsdemo/contracts';
import type { DefaultedObservabilityDemo } from '../api/index.js';
import type { ObservedCondition } from './conditions.js';
import { componentNames, demoSeriesLabels, PROMETHEUS_PORT } from './plan.js';

export const TELEMETRY_CONDITION = 'TelemetryVerified';
const UNREACHABLE = 'PrometheusUnreachable';

/** How far back an edge's requests count: telemetry that flowed once but stopped is not verified. */
export const EDGE_WINDOW = '5m';

/**
 * Requests per service-graph edge over the last EDGE_WINDOW, counting only the demo's own series (its Collector
 * labels them), so that in a Prometheus shared by several demos one demo's traffic never verifies another.
 */
export function serviceGraphQueryFor(demo: DefaultedObservabilityDemo): string {
  return serviceGraphQuery(EDGE_WINDOW, demoSeriesLabels(demo));
}

/** While verified, look again this often, so that telemetry that stops flowing turns the condition False. */
const VERIFIED_RECHECK_MS = 5 * 60_000;

export type Edge = ServiceGraphEdge;
export { formatEdge };

/** The edges to expect for a demo: those whose two ends run (the database node runs, managed or external). */
export function expectedEdges(demo: DefaultedObservabilityDemo): Edge[] {
  const services = demo.spec.services;
  const isService = (node: string): node is keyof typeof services => node in services;
  const runs = (node: string) => !isService(node) || services[node].enabled;
  return DEMO_SERVICE_GRAPH.filter((e) => runs(e.client) && runs(e.server));
}

/** A series of the service-graph query: its labels and value. */
export interface EdgeSample {
  metric: Record<string, string>;
  value: number;
}

/** The expected edges with no request counted in `samples`. */
export function missingEdges(expected: readonly Edge[], samples: readonly EdgeSample[]): Edge[] {
  const seen = new Set(
    samples
      .filter((s) => s.value > 0)
      .map((s) => `${s.metric.client ?? ''}|${s.metric.server ?? ''}|${s.metric.connection_type ?? ''}`),
  );
  return expected.filter((e) => !seen.has(`${e.client}|${e.server}|${e.connectionType}`));
}

/**
 * The TelemetryVerified observation for a successful query. With loadgen off and no edge seen at all, the reason
 * is the missing traffic (NoTraffic), not the telemetry pipeline.
 */
export function edgesCondition(
  expected: readonly Edge[],
  samples: readonly EdgeSample[],
  traffic: { loadgenEnabled: boolean } = { loadgenEnabled: true },
): ObservedCondition {
  const missing = missingEdges(expected, samples);
  if (missing.length > 0 && missing.length === expected.length && !traffic.loadgenEnabled) {
    return {
      type: TELEMETRY_CONDITION,
      status: 'False',
      reason: 'NoTraffic',
      message: `no requests on any service-graph edge in the last ${EDGE_WINDOW} and spec.services.loadgen.enabled is false: send requests through the gateway, or enable loadgen`,
    };
  }
  if (missing.length > 0) {
    return {
      type: TELEMETRY_CONDITION,
      status: 'False',
      reason: 'EdgesMissing',
      message: `missing service-graph edges (no requests in the last ${EDGE_WINDOW}): ${missing.map(formatEdge).join(', ')}`,
    };
  }
  return {
    type: TELEMETRY_CONDITION,
    status: 'True',
    reason: 'EdgesObserved',
    message:
      expected.length === 0
        ? 'no service-graph edge is expected with the enabled services'
        : `service-graph edges observed in the last ${EDGE_WINDOW}: ${expected.map(formatEdge).join(', ')}`,
  };
}

/**
 * Why the demo's own Prometheus cannot show its service graph, or undefined when it can: without Prometheus there
 * is nothing to ask, and without the Collector's service-graph connector (or with its metrics remote-written
 * elsewhere) the series never reach it. Traces also forwarded to an external OTLP endpoint change nothing here.
 */
export function unverifiableReason(demo: DefaultedObservabilityDemo): ObservedCondition | undefined {
  const obs = demo.spec.observability;
  const unknown = (reason: string, message: string): ObservedCondition => ({
    type: TELEMETRY_CONDITION,
    status: 'Unknown',
    reason,
    message,
  });
  if (!obs.prometheus.enabled)
    return unknown(
      'PrometheusDisabled',
      'telemetry cannot be verified without Prometheus: spec.observability.prometheus.enabled is false',
    );
  if (!obs.collector.serviceGraphs)
    return unknown(
      'ServiceGraphsDisabled',
      'telemetry cannot be verified without the Collector’s service graphs: spec.observability.collector.serviceGraphs is false',
    );
  if (obs.external.prometheusRemoteWriteUrl)
    return unknown(
      'ExternalBackends',
      'the Collector remote-writes its metrics to spec.observability.external.prometheusRemoteWriteUrl: the demo’s Prometheus does not receive the service graph',
    );
  return undefined;
}

/** The demo's Prometheus as seen from inside the cluster. */
export function inClusterPrometheusUrl(demo: DefaultedObservabilityDemo): string {
  const ns = demo.metadata?.namespace ?? 'default';
  return `http://${componentNames(demo).fullname('prometheus')}.${ns}.svc:${PROMETHEUS_PORT}`;
}

export interface TelemetryVerifierOptions {
  /** One Prometheus for every demo instead of each demo's in-cluster Service (an operator outside the cluster). */
  prometheusUrl?: string;
  /** Per query. */
  timeoutMs?: number;
  /** A demo's result is reused for this long (same generation). */
  minIntervalMs?: number;
  now?: () => number;
}

/** What the reconcile knows that the check needs. */
export interface TelemetryContext {
  /** Whether the demo's Prometheus StatefulSet has all its pods ready; before that a query can only fail. */
  prometheusReady: boolean;
  /** The reconcile's signal: aborting it cancels the query (and caches nothing). */
  signal?: AbortSignal;
}

export interface TelemetryCheck {
  condition: ObservedCondition;
  /** When to look again (ms from now), while the edges are not all observed. */
  recheckAfterMs?: number;
}

interface CachedCheck {
  uid: string;
  generation: number;
  at: number;
  condition: ObservedCondition;
  /** Consecutive failed queries: an unreachable Prometheus is asked less and less often. */
  failures: number;
}

/** The longest wait between queries to a Prometheus that keeps failing. */
const MAX_FAILURE_INTERVAL_MS = 5 * 60_000;

/**
 * Asks each demo's Prometheus for the service-graph edges the Collector derived from the traces and compares them with the
 * edges the enabled services must draw. A demo is queried at most once per `minIntervalMs` and generation, with a
 * timeout, so a silent Prometheus holds one worker for a few seconds at most and repeated reconciles cost nothing.
 */
export class TelemetryVerifier {
  private readonly cache = new Map<string, CachedCheck>();
  private readonly timeoutMs: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: TelemetryVerifierOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.minIntervalMs = options.minIntervalMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async check(
    demo: DefaultedObservabilityDemo,
    context: TelemetryContext = { prometheusReady: true },
  ): Promise<TelemetryCheck> {
    const unverifiable = unverifiableReason(demo);
    if (unverifiable) return { condition: unverifiable };
    // A query now would fail and count towards the backoff; the StatefulSet's status change requeues the demo.
    if (!context.prometheusReady)
      return {
        condition: {
          type: TELEMETRY_CONDITION,
          status: 'Unknown',
          reason: 'PrometheusNotReady',
          message: 'waiting for the demo’s Prometheus to become ready before asking it for the service graph',
        },
      };
    const key = `${demo.metadata?.namespace ?? ''}/${demo.metadata?.name ?? ''}`;
    const uid = demo.metadata?.uid ?? '';
    const generation = demo.metadata?.generation ?? 0;
    const now = this.now();
    let cached = this.cache.get(key);
    if (
      cached === undefined ||
      cached.uid !== uid ||
      cached.generation !== generation ||
      now - cached.at >= this.interval(cached)
    ) {
      const condition = await this.query(demo, context.signal);
      const failed = condition.reason === UNREACHABLE;
      const failures = failed && cached?.uid === uid ? cached.failures + 1 : failed ? 1 : 0;
      cached = { uid, generation, at: now, condition, failures };
      this.cache.set(key, cached);
    }
    if (cached.condition.status === 'True')
      return {
        condition: cached.condition,
        recheckAfterMs: Math.max(
          1,
          cached.at + Math.max(this.minIntervalMs, VERIFIED_RECHECK_MS) - this.now(),
        ),
      };
    return {
      condition: cached.condition,
      recheckAfterMs: Math.max(1, cached.at + this.interval(cached) - this.now()),
    };
  }

  /** minIntervalMs, doubled for each consecutive failure after the first, up to 5 minutes. */
  private interval(cached: CachedCheck): number {
    if (cached.failures <= 1) return this.minIntervalMs;
    return Math.min(this.minIntervalMs * 2 ** Math.min(cached.failures - 1, 20), MAX_FAILURE_INTERVAL_MS);
  }

  /** Drops a deleted demo's result. */
  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
  }

  private async query(demo: DefaultedObservabilityDemo, signal?: AbortSignal): Promise<ObservedCondition> {
    const base = new URL(this.options.prometheusUrl ?? inClusterPrometheusUrl(demo));
    // fetch refuses credentials in a URL; they become a Basic header and never appear in a message.
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (base.username || base.password) {
      const user = decodeURIComponent(base.username);
      const password = decodeURIComponent(base.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      base.username = '';
      base.password = '';
    }
    const shown = base.origin + base.pathname.replace(/\/$/, '');
    try {
      const res = await fetch(new URL('api/v1/query', base.href.endsWith('/') ? base : `${base.href}/`), {
        method: 'POST',
        headers,
        body: new URLSearchParams({ query: serviceGraphQueryFor(demo) }),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)])
          : AbortSignal.timeout(this.timeoutMs),
      });
      const body = (await res.json().catch(() => undefined)) as PrometheusAnswer | undefined;
      if (!res.ok || body?.status !== 'success' || body.data?.resultType !== 'vector') {
        throw new Error(body?.error ? `${body.error} (HTTP ${res.status})` : `HTTP ${res.status}`);
      }
      const samples = body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
      return edgesCondition(expectedEdges(demo), samples, {
        loadgenEnabled: demo.spec.services.loadgen.enabled,
      });
    } catch (error) {
      // The reconcile was aborted: not a fact about Prometheus.
      if (signal?.aborted) throw signal.reason;
      return {
        type: TELEMETRY_CONDITION,
        status: 'Unknown',
        reason: UNREACHABLE,
        message: `cannot query Prometheus at ${shown}: ${describeError(error)}`.slice(0, 1000),
      };
    }
  }
}

interface PrometheusAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a timeout). */
function describeError(error: unknown): string {
  // Duck-typed: undici's errors may come from another realm, where instanceof Error is false.
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (typeof e?.message !== 'string') return String(error);
  if (e.name === 'TimeoutError') return 'no answer within the timeout';
  const detail = typeof e.cause?.code === 'string' ? e.cause.code : e.cause?.message;
  return typeof detail === 'string' ? `${e.message} (${detail})` : e.message;
}
