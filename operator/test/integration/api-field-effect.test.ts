// The API contract: every leaf field of the ObservabilityDemo spec does something. For each leaf, a CR with a valid
// value other than the one the apiserver would default is accepted by the real apiserver (schema and CEL rules,
// unknown fields refused), planned by the operator's own code and rendered with the real helm over charts/; some
// rendered object must differ from the render of the same CR without that change. A field whose effect is not on
// what is rendered (it acts on the reconcile loop) is listed in NO_RENDER_EFFECT with the test that proves it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, kubeConfigFromEnv } from '@obsdemo/testenv';
import type { StructuralSchema } from '../../../hack/gen-api-types.js';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  SERVICE_NAMES,
  VERSION,
  type DefaultedObservabilityDemo,
} from '../../src/api/index.js';
import { planComponents } from '../../src/reconcile/plan.js';
import { servicesValues } from '../../src/reconcile/services-values.js';
import { canonicalJson, type HelmRenderer } from '../../src/render/helm-template.js';
import { at, rootSchema, schemaLeaves, walk } from '../unit/api-schema.js';
import { setUpOperatorEnv } from './operator-env.js';
import type { Unstructured } from '../../src/kube/resource-client.js';

type Spec = Record<string, unknown>;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const schema = rootSchema();
const LEAVES = schemaLeaves(schema, 'spec');
const OPERATOR = {
  namespace: 'obsdemo-system',
  podLabels: { 'app.kubernetes.io/name': 'obsdemo-operator', 'app.kubernetes.io/instance': 'ops' },
};

/**
 * Fields whose effect is not on the rendered objects, each with why and the test (file, title) that proves the
 * effect it does have. Such a field must also leave the render unchanged, or it belongs in the main check.
 */
const NO_RENDER_EFFECT: Record<string, { reason: string; provenBy: [file: string, title: string] }> = {
  'spec.paused': {
    reason: 'acts on the reconcile loop: while paused the operator applies nothing, whatever it would render',
    provenBy: ['operator/test/integration/reconcile.test.ts', 'writes nothing but status while paused'],
  },
};

/**
 * What a leaf is set to where the schema has no value to start from (a string with neither default nor context).
 * Every other value is derived from the schema: another enum member, the flipped boolean, a number within
 * minimum/maximum, a string still matching its pattern.
 */
const VALUES: Record<string, unknown> = {
  'spec.observability.external.otlpEndpoint': 'http://otlp.example:4318',
  'spec.observability.external.prometheusRemoteWriteUrl': 'https://metrics.example/api/v1/write',
};

const jwt = { issuer: 'https://issuer.example', audience: 'shop' };
const peers = {
  podSelector: { matchLabels: { app: 'client' } },
  namespaceSelector: { matchLabels: { team: 'a' } },
};
const ipBlock = { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } };
const ports = [{ port: 5432, endPort: 5440, protocol: 'TCP' }];

/**
 * The companions a field needs to matter or to be valid, in both CRs compared (so the comparison isolates the
 * field). The longest prefix of a leaf's path that has an entry applies; a leaf inside a list or map is changed in
 * the first element or entry given here.
 */
const CONTEXT: Record<string, { spec: Spec; why: string }> = {
  ...Object.fromEntries(
    SERVICE_NAMES.flatMap((s) => [
      [
        `spec.services.${s}.image`,
        {
          spec: {
            services: { [s]: { image: { repository: `registry.example/obsdemo/${s}`, tag: '1.0.0' } } },
          },
          why: 'repository and tag have no default to change',
        },
      ],
      [
        `spec.services.${s}.resources`,
        {
          spec: {
            services: {
              [s]: {
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '500m', memory: '512Mi' },
                },
              },
            },
          },
          why: 'quantities have no default; requests stay within limits as the CEL rule demands',
        },
      ],
      [
        `spec.services.${s}.env[]`,
        {
          spec: { services: { [s]: { env: [{ name: 'EXTRA_SETTING', value: 'on' }] } } },
          why: 'a list field is changed in an element that exists',
        },
      ],
    ]),
  ),
  // Only the services whose schema has autoscaling (a service that keeps a fixed count has none).
  ...Object.fromEntries(
    walk(schema)
      .filter((e) => /^spec\.services\.[a-z]+\.autoscaling$/.test(e.path))
      .map((e) => [
        e.path,
        {
          spec: { services: { [e.path.split('.')[2]!]: { autoscaling: { maxReplicas: 5 } } } },
          why: 'maxReplicas is required once autoscaling is set; minReplicas stays within it (CEL)',
        },
      ]),
  ),
  'spec.services.gateway.enabled': {
    spec: { services: { loadgen: { enabled: false } } },
    why: 'loadgen sends its traffic through the gateway: the gateway can be off only with loadgen off (CEL)',
  },
  'spec.services.catalog.enabled': {
    spec: { services: { processor: { enabled: false } } },
    why: 'processor reads from catalog: catalog can be off only with processor off (CEL)',
  },
  'spec.services.loadgen.mix': {
    spec: { services: { loadgen: { mix: { browse: 60, order: 20, analytics: 15, enrich: 5, batch: 0 } } } },
    why: 'a mix given replaces the default mix as a whole, so every weight is written out',
  },
  'spec.services.gateway.auth.mode': {
    spec: {
      services: { gateway: { auth: { jwt: { ...jwt, jwksUrl: 'https://issuer.example/jwks.json' } } } },
    },
    why: 'mode jwt requires auth.jwt (CEL), which mode none accepts and ignores',
  },
  'spec.services.gateway.auth.jwt': {
    spec: {
      services: {
        gateway: { auth: { mode: 'jwt', jwt: { ...jwt, jwksUrl: 'https://issuer.example/jwks.json' } } },
      },
    },
    why: 'the jwt settings act only with mode jwt',
  },
  'spec.services.gateway.auth.jwt.secretRef': {
    spec: {
      services: {
        gateway: { auth: { mode: 'jwt', jwt: { ...jwt, secretRef: { name: 'jwks', key: 'jwks.json' } } } },
      },
    },
    why: 'a key Secret replaces jwksUrl: exactly one key source (CEL)',
  },
  'spec.faults[]': {
    spec: { faults: [{ service: 'catalog', type: 'latency', latencyMs: 300, percent: 20 }] },
    why: 'a list field is changed in an element that exists',
  },
  'spec.faults[].type': {
    spec: { faults: [{ service: 'catalog', type: 'error', percent: 20 }] },
    why: 'an error fault, turned into a latency fault (CHANGED_WITH adds its latencyMs)',
  },
  'spec.messaging.nats.url': {
    spec: { messaging: { nats: { mode: 'external', url: 'nats://nats.example:4222' } } },
    why: 'url is only accepted, and only used, with mode external (CEL)',
  },
  'spec.database.postgres.secretRef': {
    spec: { database: { postgres: { mode: 'external', secretRef: { name: 'shop-db' } } } },
    why: 'secretRef is only accepted, and only used, with mode external (CEL)',
  },
  'spec.observability.prometheus.enabled': {
    spec: {
      observability: {
        grafana: { enabled: false },
        external: { prometheusRemoteWriteUrl: 'https://metrics.example/api/v1/write' },
      },
    },
    why: "Grafana reads the in-cluster Prometheus and the Collector's metrics need a destination (CEL)",
  },
  'spec.networkPolicy.gatewayFrom[]': {
    spec: { networkPolicy: { gatewayFrom: [peers] } },
    why: 'a list field is changed in an element that exists',
  },
  'spec.networkPolicy.gatewayFrom[].ipBlock': {
    spec: { networkPolicy: { gatewayFrom: [ipBlock] } },
    why: 'an ipBlock peer has no selectors (CEL)',
  },
  'spec.networkPolicy.extraEgress[]': {
    spec: { networkPolicy: { extraEgress: [{ to: [peers], ports }] } },
    why: 'a list field is changed in an element that exists',
  },
  'spec.networkPolicy.extraEgress[].to[].ipBlock': {
    spec: { networkPolicy: { extraEgress: [{ to: [ipBlock], ports }] } },
    why: 'an ipBlock peer has no selectors (CEL)',
  },
};

/**
 * Settings besides CONTEXT in which a field's description promises an effect; each is checked as well, the field
 * changed the same way.
 */
const ALSO_IN: { path: string; spec: Spec; why: string }[] = [
  {
    path: 'spec.messaging.nats.jetstream.size',
    spec: { messaging: { nats: { jetstream: { storage: 'memory' } } } },
    why: 'size bounds JetStream storage per server with either storage',
  },
  {
    path: 'spec.observability.external.otlpEndpoint',
    spec: { observability: { tracing: { backend: 'none' } } },
    why: 'with no in-cluster trace backend the Collector still forwards traces to otlpEndpoint',
  },
];

const MIX_KEYS = ['browse', 'order', 'analytics', 'enrich', 'batch'];
/**
 * Further changes a new value requires to be valid, made in the changed CR only; each says why. The comparison
 * then covers the field together with these, so they are kept to what the CEL rules force.
 */
const CHANGED_WITH: Record<string, { change: (spec: Spec) => void; why: string }> = {
  ...Object.fromEntries(
    MIX_KEYS.map((key) => [
      `spec.services.loadgen.mix.${key}`,
      {
        // browse is the largest weight, so it can give one up; browse itself takes it from order.
        change: (spec: Spec) => {
          const other = key === 'browse' ? 'order' : 'browse';
          const mix = getAt(spec, ['services', 'loadgen', 'mix']) as Record<string, number>;
          mix[other] = (mix[other] ?? 0) - 1;
        },
        why: 'the weights must add up to 100 (CEL)',
      },
    ]),
  ),
  'spec.faults[].type': {
    change: (spec) => {
      (getAt(spec, ['faults', '[]']) as Spec).latencyMs = 300;
    },
    why: 'a latency fault needs latencyMs (CEL)',
  },
  'spec.messaging.nats.mode': {
    change: (spec) => {
      (getAt(spec, ['messaging', 'nats']) as Spec).url = 'nats://nats.example:4222';
    },
    why: 'mode external requires url (CEL)',
  },
  'spec.database.postgres.mode': {
    change: (spec) => {
      (getAt(spec, ['database', 'postgres']) as Spec).secretRef = { name: 'shop-db' };
    },
    why: 'mode external requires secretRef (CEL)',
  },
};

function segments(path: string): string[] {
  return path
    .replace(/\[\]/g, '.[]')
    .split('.')
    .slice(1)
    .filter((s) => s !== '');
}

function isObject(value: unknown): value is Spec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path; `[]` is a list's first element, `*` a map's first entry. */
function getAt(value: unknown, segs: string[]): unknown {
  let current = value;
  for (const seg of segs) {
    if (seg === '[]') current = Array.isArray(current) ? current[0] : undefined;
    else if (seg === '*') current = isObject(current) ? Object.values(current)[0] : undefined;
    else current = isObject(current) ? current[seg] : undefined;
  }
  return current;
}

/** Sets the value at a path, creating objects on the way; a list or map on the way must have an element. */
function setAt(spec: Spec, segs: string[], value: unknown): void {
  let parent: unknown = spec;
  for (const [i, seg] of segs.entries()) {
    const last = i === segs.length - 1;
    if (seg === '[]') {
      if (!Array.isArray(parent) || parent.length === 0)
        throw new Error(`no list element at ${segs.join('.')}: give one in CONTEXT`);
      if (last) parent[0] = value;
      else parent = parent[0];
    } else if (seg === '*') {
      const key = isObject(parent) ? Object.keys(parent)[0] : undefined;
      if (!isObject(parent) || key === undefined)
        throw new Error(`no map entry at ${segs.join('.')}: give one in CONTEXT`);
      if (last) parent[key] = value;
      else parent = parent[key];
    } else {
      if (!isObject(parent)) throw new Error(`no object at ${segs.join('.')}`);
      if (last) parent[seg] = value;
      else {
        if (parent[seg] === undefined) parent[seg] = {};
        parent = parent[seg];
      }
    }
  }
}

function contextFor(path: string): { prefix: string; spec: Spec } {
  const prefix = Object.keys(CONTEXT)
    .filter((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[]`))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined
    ? { prefix: '', spec: {} }
    : { prefix, spec: structuredClone(CONTEXT[prefix]!.spec) };
}

/** Every run of digits doubled: 1Gi → 2Gi, 6h → 12h, 10.0.0.0/8 → 20.0.0.0/16, 100m → 200m. */
function doubleDigits(text: string): string {
  return text.replace(/[0-9]+/g, (digits) => String(Number(digits) * 2));
}

/** A valid value for a leaf other than `current` (the apiserver's defaulted value), derived from its schema. */
function otherValue(path: string, node: StructuralSchema, current: unknown): unknown {
  if (path in VALUES) return VALUES[path];
  // The structural schema types every other keyword as unknown.
  const minimum = typeof node.minimum === 'number' ? node.minimum : undefined;
  const maximum = typeof node.maximum === 'number' ? node.maximum : undefined;
  const valid = (candidate: unknown) =>
    candidate !== current &&
    (typeof candidate !== 'number' ||
      ((minimum === undefined || candidate >= minimum) && (maximum === undefined || candidate <= maximum))) &&
    (typeof candidate !== 'string' ||
      typeof node.pattern !== 'string' ||
      new RegExp(node.pattern).test(candidate));
  const candidates: unknown[] = [];
  if (Array.isArray(node.enum)) candidates.push(...(node.enum as unknown[]));
  else if (node.type === 'boolean') candidates.push(current !== true);
  else if (typeof current === 'number') {
    if (node.type === 'number') candidates.push(current / 2, current + 0.5);
    candidates.push(current + 1, current - 1);
  } else if (typeof current === 'string') {
    candidates.push(doubleDigits(current), `${current}x`, `${current}1`);
  } else if (current === undefined && (node.type === 'integer' || node.type === 'number')) {
    candidates.push(minimum ?? 1, (minimum ?? 0) + 1);
  }
  const found = candidates.find(valid);
  if (found === undefined)
    throw new Error(
      `${path}: no value derivable from the schema (current ${String(current)}); add one to VALUES`,
    );
  return found;
}

let kc: KubeConfig;
let ns: string;
let objects: CustomObjectsApi;
let renderer: HelmRenderer;

/** The apiserver's defaulted object for a spec, validated with the schema and CEL and refusing unknown fields. */
async function admit(spec: Spec): Promise<DefaultedObservabilityDemo> {
  try {
    return (await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'shop' }, spec },
      dryRun: 'All',
      fieldValidation: 'Strict',
    })) as DefaultedObservabilityDemo;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
      message?: unknown;
    };
    throw new Error(`the apiserver refused ${JSON.stringify(spec)}: ${String(body.message)}`, {
      cause: error,
    });
  }
}

const renders = new Map<string, Promise<Unstructured[]>>();
/** Every object the operator renders for a demo, keyed kind/name, as canonical JSON; helm runs once per values. */
async function rendered(demo: DefaultedObservabilityDemo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const plan of planComponents(demo, servicesValues, OPERATOR)) {
    const key = `${plan.chart}\0${canonicalJson(plan.values)}`;
    let render = renders.get(key);
    if (render === undefined) {
      render = renderer.render({
        chart: plan.chart,
        release: demo.metadata?.name ?? '',
        namespace: ns,
        values: plan.values,
      });
      renders.set(key, render);
    }
    for (const o of await render) out.set(`${o.kind}/${o.metadata.name}`, canonicalJson(o));
  }
  return out;
}

/** The kind/name of each object that differs (added, removed or changed) between two renders. */
function changedObjects(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** The CR with the leaf's context, and the same with the leaf set to another valid value; both admitted. */
async function pair(path: string, base: Spec = contextFor(path).spec) {
  const segs = segments(path);
  const before = await admit(base);
  const current = getAt(before.spec, segs);
  const value = otherValue(path, at(schema, path), current);
  const changed = structuredClone(base);
  setAt(changed, segs, value);
  CHANGED_WITH[path]?.change(changed);
  const after = await admit(changed);
  // The field itself must differ once defaulted: a value the apiserver defaults to would prove nothing.
  expect(canonicalJson(getAt(after.spec, segs))).not.toBe(canonicalJson(current));
  return { before, after, value };
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  ({ renderer } = await setUpOperatorEnv(kc));
  objects = kc.makeApiClient(CustomObjectsApi);
  ns = await createTestNamespace(kc, 'field-effect');
}, 120_000);

afterAll(async () => {
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('every field of the ObservabilityDemo spec', () => {
  it('is covered: the tables name only fields and prefixes the schema has', () => {
    const paths = new Set(walk(schema).map((e) => e.path));
    expect(LEAVES.length).toBeGreaterThan(50);
    for (const key of [
      ...Object.keys(NO_RENDER_EFFECT),
      ...Object.keys(VALUES),
      ...Object.keys(CONTEXT),
      ...Object.keys(CHANGED_WITH),
      ...ALSO_IN.map((c) => c.path),
    ])
      expect([key, paths.has(key)]).toEqual([key, true]);
    for (const key of [
      ...Object.keys(NO_RENDER_EFFECT),
      ...Object.keys(VALUES),
      ...Object.keys(CHANGED_WITH),
      ...ALSO_IN.map((c) => c.path),
    ])
      expect([key, LEAVES.includes(key)]).toEqual([key, true]);
  });

  const effective = LEAVES.filter((path) => !(path in NO_RENDER_EFFECT));
  it.each(effective)('%s changes what the operator renders', async (path) => {
    const { before, after, value } = await pair(path);
    const changed = changedObjects(await rendered(before), await rendered(after));
    expect({ path, value, changed: changed.length > 0 ? 'some object' : 'nothing' }).toEqual({
      path,
      value,
      changed: 'some object',
    });
  });

  it.each(ALSO_IN.map((c) => [c.path, c.spec] as const))(
    '%s changes what the operator renders also in %j',
    async (path, spec) => {
      const { before, after, value } = await pair(path, structuredClone(spec));
      const changed = changedObjects(await rendered(before), await rendered(after));
      expect({ path, value, changed: changed.length > 0 ? 'some object' : 'nothing' }).toEqual({
        path,
        value,
        changed: 'some object',
      });
    },
  );

  it.each(Object.entries(NO_RENDER_EFFECT))(
    '%s renders nothing different, and the test named for it exists',
    async (path, { provenBy: [file, title] }) => {
      const { before, after } = await pair(path);
      expect(changedObjects(await rendered(before), await rendered(after))).toEqual([]);
      expect(readFileSync(join(root, file), 'utf8')).toContain(`it('${title}'`);
    },
  );
});
