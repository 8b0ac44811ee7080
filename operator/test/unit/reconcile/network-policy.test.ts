import { describe, expect, it } from '@jest/globals';
import type { DefaultedObservabilityDemo } from '../../../src/api/index.js';
import {
  externalServiceEgress,
  networkPolicyValues,
  parsePodLabels,
  urlPort,
} from '../../../src/reconcile/network-policy.js';

type Spec = DefaultedObservabilityDemo['spec'];

/** A defaulted demo with every backend managed; `edit` changes the spec for one case. */
function demo(edit: (spec: Spec) => void = () => {}): DefaultedObservabilityDemo {
  const spec = {
    services: { gateway: { enabled: true, auth: { mode: 'none' } } },
    messaging: { nats: { mode: 'managed' } },
    database: { postgres: { mode: 'managed' } },
    observability: { external: {} },
    networkPolicy: { enabled: true },
  } as unknown as Spec;
  edit(spec);
  return { metadata: { name: 'shop', namespace: 'demo' }, spec } as DefaultedObservabilityDemo;
}

const operator = {
  namespace: 'obsdemo-system',
  podLabels: { 'app.kubernetes.io/name': 'obsdemo-operator', 'app.kubernetes.io/instance': 'obsdemo' },
};

describe('urlPort', () => {
  it.each([
    ['nats://nats.messaging:4333', 4333],
    ['nats://nats.messaging', 4222],
    ['tls://nats.example.com', 4222],
    ['wss://nats.example.com', 443],
    ['https://otlp.example.com', 443],
    ['http://collector:4318/v1/traces', 4318],
    ['not a url', undefined],
  ])('%s → %s', (url, port) => {
    expect(urlPort(url)).toBe(port);
  });
});

describe('parsePodLabels', () => {
  it("reads the chart's name=value list", () => {
    expect(parsePodLabels('app.kubernetes.io/name=obsdemo-operator, app.kubernetes.io/instance=ops')).toEqual(
      {
        'app.kubernetes.io/name': 'obsdemo-operator',
        'app.kubernetes.io/instance': 'ops',
      },
    );
    expect(parsePodLabels('')).toEqual({});
  });

  it.each(['app', 'a=b=c', '=x', 'a=b c'])('refuses %j with the offending part', (text) => {
    expect(() => parsePodLabels(text)).toThrow(/is not a name=value label/);
  });
});

describe('networkPolicyValues', () => {
  it('switches every chart on and admits the operator to Prometheus, and nothing external, by default', () => {
    const v = networkPolicyValues(demo(), operator);
    for (const component of ['nats', 'postgres', 'grafana'] as const)
      expect(v[component]).toEqual({ enabled: true });
    expect(v.prometheus).toEqual({
      enabled: true,
      operatorPeers: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'obsdemo-system' } },
          podSelector: { matchLabels: operator.podLabels },
        },
      ],
    });
    expect(v.collector).toEqual({ enabled: true, extraEgress: [] });
    for (const component of ['tempo', 'jaeger'] as const) expect(v[component]).toEqual({ enabled: true });
    expect(v.services).toEqual({ enabled: true, ingressFrom: [], extraEgress: [] });
  });

  it('admits no operator peer when the operator runs outside a pod', () => {
    const v = networkPolicyValues(demo(), { namespace: 'default', podLabels: {} });
    expect(v.prometheus).toEqual({ enabled: true, operatorPeers: [] });
  });

  it('turns every policy off with enabled: false', () => {
    const v = networkPolicyValues(
      demo((s) => {
        s.networkPolicy.enabled = false;
      }),
      operator,
    );
    expect(Object.values(v).map((c) => c['enabled'])).toEqual(Object.values(v).map(() => false));
    expect(Object.keys(v)).toHaveLength(9);
  });

  it("opens the ports of the external endpoints, then the user's rules, and passes gatewayFrom", () => {
    const gatewayFrom = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } },
    ];
    const extraEgress = [
      { to: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ port: 8443, protocol: 'TCP' }] },
    ];
    const d = demo((s) => {
      s.messaging.nats = { ...s.messaging.nats, mode: 'external', url: 'nats://a:4223, tls://b' };
      s.database.postgres = { ...s.database.postgres, mode: 'external' };
      s.observability.external = {
        otlpEndpoint: 'https://otlp.example.com',
        prometheusRemoteWriteUrl: 'http://prom:9091/api/v1/write',
      };
      s.services.gateway.auth = {
        mode: 'jwt',
        jwt: { issuer: 'i', audience: 'a', jwksUrl: 'https://idp.example.com:8443/jwks' },
      } as Spec['services']['gateway']['auth'];
      s.networkPolicy = { enabled: true, gatewayFrom, extraEgress } as Spec['networkPolicy'];
    });
    expect(externalServiceEgress(d)).toEqual([
      {
        ports: [4222, 4223, 5432, 8443].sort((a, b) => a - b).map((port) => ({ port, protocol: 'TCP' })),
      },
    ]);
    const v = networkPolicyValues(d, operator);
    expect(v.services).toEqual({
      enabled: true,
      ingressFrom: gatewayFrom,
      extraEgress: [...externalServiceEgress(d), ...extraEgress],
    });
    // The Collector, not the services, talks to the external telemetry backends.
    expect(v.collector).toEqual({
      enabled: true,
      extraEgress: [{ ports: [443, 9091].map((port) => ({ port, protocol: 'TCP' })) }],
    });
  });

  it('does not open the JWKS port when the gateway is disabled', () => {
    const d = demo((s) => {
      s.services.gateway = {
        ...s.services.gateway,
        enabled: false,
        auth: { mode: 'jwt', jwt: { issuer: 'i', audience: 'a', jwksUrl: 'https://idp.example.com/jwks' } },
      } as Spec['services']['gateway'];
    });
    expect(externalServiceEgress(d)).toEqual([]);
  });
});
