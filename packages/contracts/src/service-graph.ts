/**
 * The service graph the demo's traffic draws in Tempo, as the metrics-generator labels it in Prometheus
 * (`traces_service_graph_request_total{client, server, connection_type}`). One list for the operator's
 * TelemetryVerified condition, the embedded demo's summary and the end-to-end test.
 */

export type ConnectionType = '' | 'messaging_system' | 'database' | 'virtual_node';

/** One edge; `connectionType` is empty for HTTP. */
export interface ServiceGraphEdge {
  client: string;
  server: string;
  connectionType: ConnectionType;
}

/** Every edge the demo draws with all services enabled: loadgen's calls enter through the gateway. */
export const DEMO_SERVICE_GRAPH: readonly ServiceGraphEdge[] = [
  { client: 'gateway', server: 'catalog', connectionType: '' },
  { client: 'gateway', server: 'processor', connectionType: '' },
  { client: 'processor', server: 'catalog', connectionType: '' },
  { client: 'catalog', server: 'invoices', connectionType: 'messaging_system' },
  // The peer.service that packages/telemetry gives pg spans (DATABASE_PEER_SERVICE), so the database is one node.
  { client: 'catalog', server: 'postgres', connectionType: 'database' },
];

/**
 * Requests per edge, summed over everything but the edge's identity: the counters as they stand, or with `window`
 * (a PromQL duration such as 5m) their increase over it; with `labels`, only the series that carry them (one
 * demo's, where several write to one Prometheus).
 */
export function serviceGraphQuery(window?: string, labels: Readonly<Record<string, string>> = {}): string {
  const matchers = Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  const series = `traces_service_graph_request_total${matchers.length > 0 ? `{${matchers.join(',')}}` : ''}`;
  return `sum by (client, server, connection_type) (${window === undefined ? series : `increase(${series}[${window}])`})`;
}

/** `client→server`, with the connection type in parentheses when it is not HTTP. */
export function formatEdge(edge: ServiceGraphEdge): string {
  return `${edge.client}→${edge.server}${edge.connectionType === '' ? '' : ` (${edge.connectionType})`}`;
}
