import { describe, expect, it } from '@jest/globals';
import {
  API_VERSION,
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SINGULAR,
  VERSION,
} from '../../src/api/index.js';
import { at, loadCrd, rootSchema, rules, walk } from './api-schema.js';

const crd = loadCrd();
const root = rootSchema(crd);
const SERVICES = ['catalog', 'processor', 'invoices', 'gateway', 'loadgen'];
/** Services whose spec offers autoscaling instead of replicas. */
const AUTOSCALED = ['catalog', 'processor', 'gateway'];

describe('the ObservabilityDemo CRD', () => {
  it('declares the names, scope and version of the API', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toEqual({
      kind: KIND,
      listKind: LIST_KIND,
      plural: PLURAL,
      singular: SINGULAR,
      shortNames: ['od', 'obsdemo'],
      categories: ['all', 'observability'],
    });
    expect(API_VERSION).toBe('obsdemo.dev/v1alpha1');
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[VERSION, true, true]]);
  });

  it('has a status subresource, the Phase, Ready, Services and Age printer columns and a wide Telemetry', () => {
    const [version] = crd.spec.versions;
    expect(version?.subresources).toEqual({ status: {} });
    expect(
      version?.additionalPrinterColumns?.map(({ name, type, jsonPath, priority }) => [
        name,
        type,
        jsonPath,
        priority ?? 0,
      ]),
    ).toEqual([
      ['Phase', 'string', '.status.phase', 0],
      ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status', 0],
      ['Services', 'string', '.status.servicesReady', 0],
      ['Telemetry', 'string', '.status.conditions[?(@.type=="TelemetryVerified")].reason', 1],
      ['Age', 'date', '.metadata.creationTimestamp', 0],
    ]);
    expect(at(root, 'status.servicesReady').pattern).toBe('^[0-9]+/[0-9]+$');
  });

  it('describes every field, so kubectl explain documents all of them', () => {
    // metadata is the only exception: the apiserver forbids anything but name/generateName constraints there and
    // kubectl explain shows ObjectMeta's own documentation.
    const undocumented = walk(root)
      .filter(({ path }) => path !== 'metadata')
      .filter(({ node }) => typeof node.description !== 'string' || node.description.trim().length < 10)
      .map(({ path }) => path || '<root>');
    expect(undocumented).toEqual([]);
  });

  it('is structural: every node has a type (or is an int-or-string quantity)', () => {
    const untyped = walk(root)
      .filter(({ node }) => node.type === undefined && node['x-kubernetes-int-or-string'] !== true)
      .map(({ path }) => path);
    expect(untyped).toEqual([]);
  });

  it('bounds every list and every string CEL reads, keeping the rule cost within the apiserver budget', () => {
    const unboundedLists = walk(root)
      .filter(({ node }) => node.type === 'array' && typeof node.maxItems !== 'number')
      .map(({ path }) => path);
    const unboundedStrings = walk(root)
      .filter(({ path }) => path.startsWith('spec'))
      .filter(
        ({ node }) => node.type === 'string' && node.enum === undefined && typeof node.maxLength !== 'number',
      )
      .map(({ path }) => path);
    expect(unboundedLists).toEqual([]);
    expect(unboundedStrings).toEqual([]);
  });

  it('gives nested objects a {} default so their fields are defaulted too', () => {
    const objects = [
      'spec',
      'spec.services',
      ...SERVICES.map((s) => `spec.services.${s}`),
      ...SERVICES.map((s) => `spec.services.${s}.image`),
      'spec.services.catalog.cache',
      'spec.services.gateway.rateLimit',
      'spec.services.gateway.auth',
      'spec.messaging',
      'spec.messaging.nats',
      'spec.messaging.nats.jetstream',
      'spec.database',
      'spec.database.postgres',
      'spec.observability',
      'spec.observability.tracing',
      'spec.observability.prometheus',
      'spec.observability.collector',
      'spec.observability.grafana',
      'spec.observability.external',
    ];
    expect(Object.fromEntries(objects.map((p) => [p, at(root, p).default]))).toEqual(
      Object.fromEntries(objects.map((p) => [p, {}])),
    );
  });

  it('defaults the documented fields', () => {
    const expected: Record<string, unknown> = {
      'spec.paused': false,
      'spec.profile': 'small',
      ...Object.fromEntries(
        SERVICES.flatMap((s) => [
          [`spec.services.${s}.enabled`, true],
          // An autoscaled service has no replicas, so a default there would always conflict with autoscaling.
          ...(AUTOSCALED.includes(s) ? [] : [[`spec.services.${s}.replicas`, 1]]),
        ]),
      ),
      ...Object.fromEntries(SERVICES.map((s) => [`spec.services.${s}.image.pullPolicy`, 'IfNotPresent'])),
      ...Object.fromEntries(SERVICES.map((s) => [`spec.services.${s}.env[].value`, ''])),
      'spec.services.catalog.cache.enabled': true,
      'spec.services.catalog.cache.maxEntries': 10000,
      'spec.services.catalog.cache.ttlSeconds': 60,
      'spec.services.gateway.rateLimit.requestsPerSecond': 50,
      'spec.services.gateway.rateLimit.burst': 100,
      'spec.services.gateway.auth.mode': 'none',
      ...Object.fromEntries(
        AUTOSCALED.flatMap((s) => [
          [`spec.services.${s}.autoscaling.minReplicas`, 1],
          [`spec.services.${s}.autoscaling.targetCPUUtilization`, 80],
        ]),
      ),
      'spec.services.gateway.auth.jwt.secretRef.key': 'jwks.json',
      'spec.services.loadgen.requestsPerSecond': 5,
      'spec.services.loadgen.mix': { browse: 60, order: 20, analytics: 15, enrich: 5, batch: 0 },
      'spec.messaging.nats.mode': 'managed',
      'spec.messaging.nats.replicas': 1,
      'spec.messaging.nats.jetstream.storage': 'file',
      'spec.messaging.nats.jetstream.size': '1Gi',
      'spec.database.postgres.mode': 'managed',
      'spec.database.postgres.storage': '1Gi',
      'spec.database.postgres.retainOnDelete': false,
      'spec.observability.tracing.samplingRatio': 1,
      'spec.observability.tracing.backend': 'tempo',
      'spec.observability.prometheus.enabled': true,
      'spec.observability.prometheus.retention': '6h',
      'spec.observability.collector.serviceGraphs': true,
      'spec.observability.collector.spanMetrics': true,
      'spec.observability.grafana.enabled': true,
    };
    const actual = Object.fromEntries(Object.keys(expected).map((p) => [p, at(root, p).default]));
    expect(actual).toEqual(expected);
    for (const s of AUTOSCALED) expect(at(root, `spec.services.${s}.replicas`).default).toBeUndefined();
  });

  it('the default traffic mix adds up to 100', () => {
    const mix = at(root, 'spec.services.loadgen.mix').default as Record<string, number>;
    expect(Object.values(mix).reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('bounds replicas, percentages and ratios', () => {
    for (const s of SERVICES) {
      expect(at(root, `spec.services.${s}.replicas`)).toMatchObject({ type: 'integer', minimum: 0 });
      expect(typeof at(root, `spec.services.${s}.replicas`).maximum).toBe('number');
    }
    for (const s of AUTOSCALED) {
      const max = at(root, `spec.services.${s}.replicas`).maximum;
      expect(at(root, `spec.services.${s}.autoscaling.minReplicas`)).toMatchObject({
        minimum: 1,
        maximum: max,
      });
      expect(at(root, `spec.services.${s}.autoscaling.maxReplicas`)).toMatchObject({
        minimum: 1,
        maximum: max,
      });
      expect(at(root, `spec.services.${s}.autoscaling.targetCPUUtilization`)).toMatchObject({
        minimum: 1,
        maximum: 100,
      });
    }
    expect(at(root, 'spec.faults[].percent')).toMatchObject({ minimum: 0, maximum: 100 });
    expect(at(root, 'spec.faults[].latencyMs')).toMatchObject({ minimum: 1 });
    expect(at(root, 'spec.observability.tracing.samplingRatio')).toMatchObject({
      type: 'number',
      minimum: 0,
      maximum: 1,
    });
    for (const field of ['browse', 'order', 'analytics', 'enrich', 'batch']) {
      expect(at(root, `spec.services.loadgen.mix.${field}`)).toMatchObject({ minimum: 0, maximum: 100 });
    }
  });

  it('uses enums for every closed set of values', () => {
    const enums: Record<string, unknown[]> = {
      'spec.profile': ['small', 'standard'],
      'spec.services.gateway.auth.mode': ['none', 'jwt'],
      'spec.faults[].service': ['catalog', 'processor', 'invoices', 'gateway'],
      'spec.faults[].type': ['latency', 'error'],
      'spec.messaging.nats.mode': ['managed', 'external'],
      'spec.messaging.nats.jetstream.storage': ['file', 'memory'],
      'spec.database.postgres.mode': ['managed', 'external'],
      'status.phase': ['Pending', 'Progressing', 'Ready', 'Degraded', 'Paused'],
      'status.conditions[].status': ['True', 'False', 'Unknown'],
    };
    expect(Object.fromEntries(Object.keys(enums).map((p) => [p, at(root, p).enum]))).toEqual(enums);
  });

  it('keys lists that are maps, so duplicates are rejected and server-side apply merges entries', () => {
    const maps: Record<string, string[]> = {
      'spec.faults': ['service', 'type'],
      'status.conditions': ['type'],
      'status.components': ['name'],
      ...Object.fromEntries(SERVICES.map((s) => [`spec.services.${s}.env`, ['name']])),
    };
    for (const [path, keys] of Object.entries(maps)) {
      expect([
        path,
        at(root, path)['x-kubernetes-list-type'],
        at(root, path)['x-kubernetes-list-map-keys'],
      ]).toEqual([path, 'map', keys]);
      expect(at(root, `${path}[]`).required).toEqual(expect.arrayContaining(keys));
    }
  });

  it('describes status conditions with the metav1.Condition shape', () => {
    const condition = at(root, 'status.conditions[]');
    expect(condition.required).toEqual(['type', 'status', 'lastTransitionTime', 'reason', 'message']);
    expect(at(root, 'status.conditions[].lastTransitionTime').format).toBe('date-time');
    expect(at(root, 'status.conditions[].observedGeneration').format).toBe('int64');
    expect(at(root, 'status.conditions[].reason').pattern).toBe('^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$');
    expect(Object.keys(at(root, 'status').properties ?? {}).sort()).toEqual(
      [
        'components',
        'conditions',
        'endpoints',
        'inventory',
        'observedGeneration',
        'phase',
        'servicesReady',
      ].sort(),
    );
    expect(Object.keys(at(root, 'status.inventory[]').properties ?? {})).toEqual([
      'apiVersion',
      'kind',
      'name',
      'namespace',
    ]);
  });

  describe('CEL rules', () => {
    // One row per documented cross-field constraint: where the rule lives, what its expression must reference,
    // and a fragment of the message a person reads.
    const documented: [string, RegExp, string][] = [
      ['spec.messaging.nats', /external.*has\(self\.url\)/, 'requires messaging.nats.url'],
      ['spec.messaging.nats', /managed.*!has\(self\.url\)/, 'only used with mode external'],
      ['spec.messaging.nats.mode', /^self == oldSelf$/, 'cannot be changed after creation'],
      [
        'spec.messaging.nats.jetstream.size',
        /isGreaterThan\(quantity\('0'\)\)/,
        'must be a positive quantity',
      ],
      ['spec.messaging.nats.replicas', /^self == oldSelf$/, 'cannot be changed after creation'],
      ['spec.database.postgres', /external.*has\(self\.secretRef\)/, 'requires database.postgres.secretRef'],
      ['spec.database.postgres', /managed.*!has\(self\.secretRef\)/, 'only used with mode external'],
      ['spec.database.postgres.mode', /^self == oldSelf$/, 'cannot be changed after creation'],
      ['spec.database.postgres.storage', /isGreaterThan\(quantity\('0'\)\)/, 'must be a positive quantity'],
      ['spec.services.loadgen.mix', /browse.*order.*analytics.*enrich.*batch.*== 100/, 'must add up to 100'],
      ['spec.faults[]', /'latency'.*has\(self\.latencyMs\)/, 'a latency fault needs latencyMs'],
      ['spec.faults[]', /'error'.*!has\(self\.latencyMs\)/, 'remove latencyMs'],
      ['spec.services.gateway.auth', /'jwt'.*has\(self\.jwt\)/, 'requires gateway.auth.jwt'],
      [
        'spec.services.gateway.auth.jwt',
        /has\(self\.jwksUrl\) != has\(self\.secretRef\)/,
        'exactly one key source',
      ],
      ['spec.services.gateway.auth.jwt.jwksUrl', /isURL\(self\)/, 'must be an absolute http'],
      ['spec.services.gateway.rateLimit', /burst.*>=.*requestsPerSecond/, 'burst must be at least'],
      ['spec.services', /loadgen.*gateway/, 'loadgen sends its traffic through the gateway'],
      ['spec.services', /processor.*catalog/, 'processor reads products and orders from catalog'],
      [
        'spec.observability',
        /grafana.*prometheus/,
        "Grafana's dashboards read from the in-cluster Prometheus",
      ],
      [
        'spec.observability',
        /serviceGraphs.*spanMetrics.*prometheusRemoteWriteUrl/,
        'write metrics to Prometheus',
      ],
      ['spec.observability.logs.retention', /% 24 == 0/, 'a whole number of days'],
      ['spec.observability.external.otlpEndpoint', /isURL\(self\)/, 'otlpEndpoint must be an absolute http'],
      ['spec.observability.external.prometheusRemoteWriteUrl', /isURL\(self\)/, 'must be an absolute http'],
      ...SERVICES.flatMap((s): [string, RegExp, string][] => [
        [
          `spec.services.${s}.resources`,
          /quantity\(.*requests\.cpu.*compareTo.*limits\.cpu/,
          'requests.cpu must not exceed',
        ],
        [
          `spec.services.${s}.resources`,
          /quantity\(.*requests\.memory.*compareTo.*limits\.memory/,
          'requests.memory must not exceed',
        ],
      ]),
      ...AUTOSCALED.flatMap((s): [string, RegExp, string][] => [
        [`spec.services.${s}`, /!has\(self\.autoscaling\) \|\| !has\(self\.replicas\)/, 'remove replicas'],
        [
          `spec.services.${s}.autoscaling`,
          /minReplicas.*<= self\.maxReplicas/,
          'must not exceed maxReplicas',
        ],
      ]),
      ...['spec.networkPolicy.gatewayFrom[]', 'spec.networkPolicy.extraEgress[].to[]'].flatMap(
        (peer): [string, RegExp, string][] => [
          [peer, /has\(self\.ipBlock\) != \(has\(self\.podSelector\)/, 'not both, not neither'],
          [`${peer}.ipBlock.cidr`, /^isCIDR\(self\)$/, 'must be a CIDR'],
          [`${peer}.ipBlock.except[]`, /^isCIDR\(self\)$/, 'must be CIDRs'],
        ],
      ),
      [
        'spec.networkPolicy.extraEgress[]',
        /has\(self\.to\) \|\| has\(self\.ports\)/,
        'an empty rule would allow',
      ],
      [
        'spec.networkPolicy.extraEgress[].ports[]',
        /endPort.*type\(self\.port\) == int/,
        'endPort needs a numeric port',
      ],
      ['', /metadata\.name\.size\(\) <= 40/, 'at most 40 characters'],
    ];

    it.each(documented)('%s has a rule matching %s', (path, expression, message) => {
      const matching = rules(at(root, path)).filter((r) => expression.test(r.rule));
      expect(matching).toHaveLength(1);
      expect(matching[0]?.message).toContain(message);
    });

    it('every rule has a message a person can act on, on one line', () => {
      const all = walk(root).flatMap(({ path, node }) => rules(node).map((r) => ({ path, ...r })));
      expect(all.length).toBe(documented.length);
      for (const r of all) {
        expect([r.path, typeof r.message]).toEqual([r.path, 'string']);
        expect(r.message).not.toMatch(/\n/);
        expect(r.message!.length).toBeGreaterThan(30);
      }
    });

    it('rejects duplicate faults structurally: faults is a list map keyed by (service, type)', () => {
      expect(at(root, 'spec.faults')['x-kubernetes-list-map-keys']).toEqual(['service', 'type']);
      expect(at(root, 'spec.faults').maxItems).toBe(10);
    });
  });
});
