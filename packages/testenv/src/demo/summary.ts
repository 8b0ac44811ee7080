import {
  formatEdge,
  serviceGraphQuery,
  type ConnectionType,
  type ServiceGraphEdge,
} from '@obsdemo/contracts';
import type { PrometheusServer } from '../observability/prometheus.js';

/** A service-graph edge as the Collector's servicegraph connector writes it into Prometheus, with its request count. */
export interface Edge extends ServiceGraphEdge {
  requests: number;
}

export interface TrafficSummary {
  /** Requests per second into the gateway over the last minute. */
  gatewayRps: number;
  /** Share of those answered 5xx, 0..1. */
  errorRate: number;
  edges: Edge[];
}

export async function serviceGraphEdges(prometheus: PrometheusServer): Promise<Edge[]> {
  const samples = await prometheus.query(serviceGraphQuery());
  return samples
    .filter((s) => s.value > 0)
    .map((s) => ({
      client: s.metric.client ?? '',
      server: s.metric.server ?? '',
      connectionType: (s.metric.connection_type ?? '') as ConnectionType,
      requests: s.value,
    }))
    .sort((a, b) => `${a.client}>${a.server}`.localeCompare(`${b.client}>${b.server}`));
}

export async function trafficSummary(prometheus: PrometheusServer): Promise<TrafficSummary> {
  const [rps, errors, edges] = await Promise.all([
    prometheus.query('sum(rate(http_requests_total{job="gateway"}[1m]))'),
    prometheus.query(
      'sum(rate(http_requests_total{job="gateway",status=~"5.."}[1m])) / sum(rate(http_requests_total{job="gateway"}[1m]))',
    ),
    serviceGraphEdges(prometheus),
  ]);
  const errorRate = errors[0]?.value ?? 0;
  return {
    gatewayRps: rps[0]?.value ?? 0,
    errorRate: Number.isFinite(errorRate) ? errorRate : 0,
    edges,
  };
}

/** `client→server (type)`, as the operator's TelemetryVerified messages write it. */
export const edgeLabel = formatEdge;

export function formatSummary(summary: TrafficSummary): string {
  const edges = summary.edges.map(edgeLabel).join(', ');
  return (
    `gateway ${summary.gatewayRps.toFixed(1)} req/s, ${(summary.errorRate * 100).toFixed(1)} % errors; ` +
    `service graph: ${edges === '' ? '(no edges yet)' : edges}`
  );
}
