import type { DefaultedObservabilityDemo } from '../api/index.js';
import type { PlannedComponent } from './plan.js';

/** A NetworkPolicyPeer, as the charts take it. */
export type NetworkPolicyPeer = Record<string, unknown>;
/** A NetworkPolicyEgressRule, as the charts take it. */
export interface EgressRule {
  to?: unknown[];
  ports?: { port?: number | string; endPort?: number; protocol?: string }[];
}

/** Default ports of the URL schemes the CR accepts, for URLs that name none. */
const DEFAULT_PORTS: Record<string, number> = {
  'nats:': 4222,
  'tls:': 4222,
  'ws:': 80,
  'wss:': 443,
  'http:': 80,
  'https:': 443,
};
/** The port the CRD documents for database.postgres mode external when the Secret's port is not known here. */
export const EXTERNAL_POSTGRES_PORT = 5432;

/** The TCP port a URL connects to, or undefined for a string that is not a URL. */
export function urlPort(url: string): number | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol];
}

/** One rule allowing TCP to any address on these ports (sorted, without repeats), or none for no ports. */
function anyAddressOn(ports: (number | undefined)[]): EgressRule[] {
  const unique = [...new Set(ports.filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
  return unique.length === 0 ? [] : [{ ports: unique.map((port) => ({ port, protocol: 'TCP' })) }];
}

/**
 * The egress the five services need beyond the platform's own pods: the CR's external endpoints. An endpoint
 * outside the cluster has no pod to select and its address is a DNS name, so the rule allows its port to any
 * address — the narrowest a NetworkPolicy can express without an IP range.
 */
export function externalServiceEgress(demo: DefaultedObservabilityDemo): EgressRule[] {
  const { spec } = demo;
  const ports: (number | undefined)[] = [];
  if (spec.messaging.nats.mode === 'external') {
    for (const url of (spec.messaging.nats.url ?? '').split(',')) ports.push(urlPort(url.trim()));
  }
  if (spec.database.postgres.mode === 'external') ports.push(EXTERNAL_POSTGRES_PORT);
  const { auth } = spec.services.gateway;
  if (spec.services.gateway.enabled && auth.mode === 'jwt' && auth.jwt?.jwksUrl)
    ports.push(urlPort(auth.jwt.jwksUrl));
  return anyAddressOn(ports);
}

/** Where the operator runs, so a demo's Prometheus admits its TelemetryVerified queries. */
export interface OperatorLocation {
  namespace: string;
  /** The operator pods' labels; empty when the operator does not run in a pod (e.g. `make run`). */
  podLabels: Record<string, string>;
}

/**
 * Parses `OPERATOR_POD_LABELS` (`name=value,name=value`, as the operator chart writes its selector labels).
 * Throws one readable line for anything else.
 */
export function parsePodLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const match = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a name=value label`);
    labels[match[1] as string] = match[2] as string;
  }
  return labels;
}

/** The networkPolicy values of every chart the operator renders for a demo, keyed by component. */
export function networkPolicyValues(
  demo: DefaultedObservabilityDemo,
  operator: OperatorLocation,
): Record<PlannedComponent, Record<string, unknown>> {
  const np = demo.spec.networkPolicy;
  const enabled = { enabled: np.enabled };
  const operatorPeers: NetworkPolicyPeer[] =
    Object.keys(operator.podLabels).length === 0
      ? []
      : [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operator.namespace } },
            podSelector: { matchLabels: operator.podLabels },
          },
        ];
  const { prometheusRemoteWriteUrl: remoteWrite, otlpEndpoint: otlp } = demo.spec.observability.external;
  return {
    nats: enabled,
    postgres: enabled,
    prometheus: { ...enabled, operatorPeers },
    // The Collector's remote write and trace export to external backends; the in-cluster ones are chart defaults.
    collector: {
      ...enabled,
      extraEgress: anyAddressOn([
        remoteWrite ? urlPort(remoteWrite) : undefined,
        otlp ? urlPort(otlp) : undefined,
      ]),
    },
    tempo: enabled,
    jaeger: enabled,
    loki: enabled,
    grafana: enabled,
    services: {
      ...enabled,
      ingressFrom: np.gatewayFrom ?? [],
      extraEgress: [...externalServiceEgress(demo), ...(np.extraEgress ?? [])],
    },
  };
}
