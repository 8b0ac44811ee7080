// Every chart under charts/, rendered by the real helm with its defaults and each ci/*-values.yaml, checked for
// hard-coded credentials, PodSecurity "restricted" (programmatically and by the real apiserver's admission), a
// read-only root filesystem, and default-deny NetworkPolicies whose flows match the charts' documented tables.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, kubeConfigFromEnv } from '@obsdemo/testenv';
import {
  ChartWorkspace,
  isWorkload,
  podLabelsOf,
  podSpecOf,
  renderEverything,
  restrictedViolations,
  serverSideApply,
  writableRootContainers,
  type Unstructured,
  type PodSpec,
  type Render,
} from './security-support.js';

/**
 * The pod a workload's controller would create, as far as admission sees it: a StatefulSet's claim templates
 * become claim volumes; the ServiceAccount is left out (it is not applied here and PodSecurity ignores it).
 */
function dryRunPodSpec(w: Unstructured): PodSpec {
  const claims = (
    (w.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []
  ).map((t) => ({
    name: t.metadata.name,
    persistentVolumeClaim: { claimName: `${t.metadata.name}-${w.metadata.name}-0` },
  }));
  const pod = podSpecOf(w);
  return { ...pod, serviceAccountName: undefined, volumes: [...(pod.volumes ?? []), ...claims] };
}

const SENSITIVE = /pass|secret|token|key/i;
const HELM_HOOK = 'helm.sh/hook';

let ws: ChartWorkspace;
let renders: Render[];

beforeAll(() => {
  ws = new ChartWorkspace();
  renders = renderEverything(ws);
}, 180_000);

afterAll(() => {
  ws.dispose();
});

const workloads = (r: Render) => r.objects.filter(isWorkload);
const id = (r: Render, o: Unstructured) => `${r.chart} (${r.values}): ${o.kind}/${o.metadata.name}`;

describe('rendered manifests: credentials', () => {
  it('renders every chart with each of its values files', () => {
    expect(ws.charts()).toEqual(
      expect.arrayContaining(['demo-services', 'nats', 'obsdemo-operator', 'observability-demo', 'postgres']),
    );
    for (const r of renders) expect(workloads(r).length).toBeGreaterThan(0);
  });

  it('has no Secret value that is the same on every render (generated values differ, literals do not)', () => {
    // Render each chart twice: a generated password changes, a hard-coded one does not.
    const second = renderEverything(ws);
    const findings: string[] = [];
    renders.forEach((r, i) => {
      const again = second[i];
      for (const secret of r.objects.filter((o) => o.kind === 'Secret')) {
        const twin = again?.objects.find(
          (o) => o.kind === 'Secret' && o.metadata.name === secret.metadata.name,
        );
        for (const field of ['data', 'stringData'] as const) {
          const entries = Object.entries((secret[field] as Record<string, string> | undefined) ?? {});
          for (const [key, value] of entries) {
            if (!SENSITIVE.test(key)) continue;
            const other = (twin?.[field] as Record<string, string> | undefined)?.[key];
            if (other === value) findings.push(`${id(r, secret)} ${field}.${key} is a literal`);
          }
        }
      }
    });
    expect(findings).toEqual([]);
  });

  it('passes credentials to containers only by reference (no env value for a *PASS*/*SECRET*/*TOKEN*/*KEY* name)', () => {
    const findings: string[] = [];
    for (const r of renders)
      for (const w of workloads(r)) {
        const pod = podSpecOf(w);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers])
          for (const e of c.env ?? []) {
            // A *_FILE variable holding a path points at a mounted Secret; that is a reference.
            const fileReference = /_FILE$/.test(e.name) && e.value?.startsWith('/') === true;
            if (/PASS|SECRET|TOKEN|KEY/i.test(e.name) && e.value !== undefined && !fileReference)
              findings.push(`${id(r, w)} container ${c.name} env ${e.name}=${JSON.stringify(e.value)}`);
          }
      }
    expect(findings).toEqual([]);
  });

  it('has no password literal in any ConfigMap', () => {
    // `password: $__env{…}`, `${VAR}` and `$__file{…}` are references, not values.
    const literal = /password\s*[:=]\s*(?!\$__env|\$__file|\$\{|\$\(|")(\S+)/gi;
    const findings: string[] = [];
    for (const r of renders)
      for (const cm of r.objects.filter((o) => o.kind === 'ConfigMap'))
        for (const [key, value] of Object.entries((cm.data as Record<string, string> | undefined) ?? {}))
          for (const m of value.matchAll(literal)) findings.push(`${id(r, cm)} ${key}: ${m[0]}`);
    expect(findings).toEqual([]);
  });
});

describe('rendered manifests: pod security', () => {
  it('every pod spec meets PodSecurity "restricted" (programmatic check)', () => {
    const findings: string[] = [];
    for (const r of renders)
      for (const w of workloads(r))
        for (const v of restrictedViolations(podSpecOf(w))) findings.push(`${id(r, w)}: ${v}`);
    expect(findings).toEqual([]);
  });

  it('every container has a read-only root filesystem', () => {
    const findings: string[] = [];
    for (const r of renders)
      for (const w of workloads(r))
        for (const c of writableRootContainers(podSpecOf(w))) findings.push(`${id(r, w)} container ${c}`);
    expect(findings).toEqual([]);
  });

  it('the apiserver admits every workload into a namespace enforcing "restricted", with no warning', async () => {
    const kc: KubeConfig = kubeConfigFromEnv();
    const ns = await createTestNamespace(kc, 'security-psa', { podSecurity: 'restricted' });
    try {
      const findings: string[] = [];
      let applied = 0;
      for (const r of renderEverything(ws, ns))
        for (const w of workloads(r)) {
          const obj = { ...w, metadata: { ...w.metadata, namespace: ns } };
          const result = await serverSideApply(kc, obj);
          applied += 1;
          if (result.status >= 300)
            findings.push(`${id(r, w)}: rejected ${result.status} ${String(result.body.message)}`);
          for (const warning of result.warnings) findings.push(`${id(r, w)}: warning ${warning}`);
          // PodSecurity only warns for a Deployment; its pods are what "enforce" rejects. A dry-run Pod from
          // the same template goes through exactly that admission.
          if (w.kind !== 'Pod') {
            const pod: Unstructured = {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: {
                name: `${w.metadata.name}-psa`.slice(0, 63),
                namespace: ns,
                labels: podLabelsOf(w),
              },
              spec: dryRunPodSpec(w),
            };
            const dry = await serverSideApply(kc, pod, true);
            if (dry.status >= 300)
              findings.push(`${id(r, w)} pod template: rejected ${dry.status} ${String(dry.body.message)}`);
            for (const warning of dry.warnings) findings.push(`${id(r, w)} pod template: warning ${warning}`);
          }
        }
      expect(findings).toEqual([]);
      expect(applied).toBeGreaterThan(20);
    } finally {
      await deleteTestNamespace(kc, ns);
    }
  }, 180_000);

  it('the check can fail: a root, privileged pod is rejected by the same admission', async () => {
    const kc: KubeConfig = kubeConfigFromEnv();
    const ns = await createTestNamespace(kc, 'security-psa-neg', { podSecurity: 'restricted' });
    try {
      const pod: Unstructured = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'root', namespace: ns },
        spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
      };
      expect(restrictedViolations(podSpecOf(pod))).toContain('container c: privileged');
      const result = await serverSideApply(kc, pod, true);
      expect(result.status).toBe(403);
      expect(String(result.body.message)).toMatch(/violates PodSecurity "restricted/);
    } finally {
      await deleteTestNamespace(kc, ns);
    }
  });
});

// ---- NetworkPolicies ---------------------------------------------------------------------------------------------

interface Peer {
  podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface Rule {
  ports?: { port?: number | string; protocol?: string }[];
  from?: Peer[];
  to?: Peer[];
}
interface PolicySpec {
  podSelector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  policyTypes?: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

const selects = (selector: PolicySpec['podSelector'], labels: Record<string, string>) => {
  if ((selector.matchExpressions ?? []).length > 0)
    throw new Error('matchExpressions are not evaluated here');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
};

const peerName = (p: Peer): string => {
  if (p.ipBlock) return `cidr ${p.ipBlock.cidr}`;
  const pod = p.podSelector?.matchLabels?.['app.kubernetes.io/name'];
  const podPart = p.podSelector === undefined ? '' : (pod ?? 'any pod');
  if (p.namespaceSelector !== undefined) {
    const nsLabels = Object.entries(p.namespaceSelector.matchLabels ?? {});
    const nsPart = nsLabels.length ? nsLabels.map(([k, v]) => `${k}=${v}`).join(',') : 'any namespace';
    return podPart ? `${podPart} in ${nsPart}` : nsPart;
  }
  return podPart;
};

/** "target <- peer :port" and "target -> peer :port" lines, one per allowed flow. */
function flowsOf(policies: Unstructured[]): string[] {
  const lines = new Set<string>();
  for (const np of policies) {
    const spec = np.spec as PolicySpec;
    const target = spec.podSelector.matchLabels?.['app.kubernetes.io/name'] ?? 'any pod';
    const ports = (r: Rule) => (r.ports ?? [{}]).map((p) => `${p.port ?? 'any'}/${p.protocol ?? 'TCP'}`);
    for (const rule of spec.ingress ?? [])
      for (const peer of rule.from ?? [{}])
        for (const port of ports(rule)) lines.add(`${target} <- ${peerName(peer) || 'anyone'} :${port}`);
    for (const rule of spec.egress ?? [])
      for (const peer of rule.to ?? [{}])
        for (const port of ports(rule)) lines.add(`${target} -> ${peerName(peer) || 'anywhere'} :${port}`);
  }
  return [...lines].sort();
}

/** Every subchart's NetworkPolicy switched on in the umbrella, as a cautious user would install it. */
const ALL_POLICIES = [
  'nats',
  'postgres',
  'prometheus',
  'otel-collector',
  'tempo',
  'loki',
  'grafana',
  'demo-services',
].map((c) => `${c}.networkPolicy.enabled=true`);

describe('NetworkPolicies', () => {
  const withPolicies = () => [
    ...renders.filter((r) => r.objects.some((o) => o.kind === 'NetworkPolicy')),
    ws.render('observability-demo', 'default', { set: ALL_POLICIES }),
  ];

  it('select every workload with a policy of both types (default deny for ingress and egress)', () => {
    const findings: string[] = [];
    for (const r of withPolicies()) {
      const policies = r.objects.filter((o) => o.kind === 'NetworkPolicy');
      for (const w of workloads(r)) {
        const labels = podLabelsOf(w);
        const types = new Set(
          policies
            .map((p) => p.spec as PolicySpec)
            .filter((s) => selects(s.podSelector, labels))
            .flatMap((s) => s.policyTypes ?? ['Ingress']),
        );
        const hook = w.metadata.annotations?.[HELM_HOOK];
        // `helm test` pods are short-lived clients started by hand; they are reported, not required (docs/security.md).
        if (hook === 'test') continue;
        for (const t of ['Ingress', 'Egress'])
          if (!types.has(t)) findings.push(`${id(r, w)}: no ${t} policy`);
      }
    }
    expect(findings).toEqual([]);
  });

  it('allow exactly the flows documented in charts/demo-services/README.md ("Network flows")', () => {
    const umbrella = ws.render('observability-demo', 'default', { set: ALL_POLICIES });
    const demo = umbrella.objects.filter(
      (o) =>
        o.kind === 'NetworkPolicy' &&
        ['catalog', 'processor', 'invoices', 'gateway', 'loadgen'].includes(
          (o.spec as PolicySpec).podSelector.matchLabels?.['app.kubernetes.io/name'] ?? '',
        ),
    );
    // The README's table, flow by flow (ports by name where the chart uses the container port's name "http").
    const documented: string[] = [];
    const services = { catalog: 8000, processor: 8001, invoices: 8002, gateway: 8080, loadgen: 8089 };
    const scrapedBy = ['prometheus', 'demo-services-test'];
    const ingressFrom: Record<string, string[]> = {
      catalog: ['gateway', 'processor'],
      processor: ['gateway'],
      invoices: ['gateway'],
      gateway: ['anyone'],
      loadgen: [],
    };
    for (const [svc, from] of Object.entries(ingressFrom))
      for (const peer of [...from, ...scrapedBy]) documented.push(`${svc} <- ${peer} :http/TCP`);
    const egressTo: Record<string, [string, number][]> = {
      catalog: [
        ['postgres', 5432],
        ['nats', 4222],
      ],
      processor: [
        ['postgres', 5432],
        ['catalog', services.catalog],
      ],
      invoices: [
        ['postgres', 5432],
        ['nats', 4222],
      ],
      gateway: [
        ['catalog', services.catalog],
        ['processor', services.processor],
        ['invoices', services.invoices],
      ],
      loadgen: [['gateway', services.gateway]],
    };
    for (const [svc, to] of Object.entries(egressTo)) {
      for (const [peer, port] of [
        ...to,
        ['otel-collector', 4317] as const,
        ['otel-collector', 4318] as const,
      ])
        documented.push(`${svc} -> ${peer} :${port}/TCP`);
      documented.push(
        `${svc} -> any pod in kubernetes.io/metadata.name=kube-system :53/UDP`,
        `${svc} -> any pod in kubernetes.io/metadata.name=kube-system :53/TCP`,
      );
    }
    const actual = flowsOf(demo);
    console.info(`demo-services flows (umbrella, all policies on):\n${actual.join('\n')}`);
    expect({ undocumented: actual.filter((f) => !documented.includes(f)) }).toEqual({ undocumented: [] });
    expect({ missing: documented.filter((f) => !actual.includes(f)) }).toEqual({ missing: [] });
  });

  it('lists the flows of every other chart (see docs/security.md for the comparison with their READMEs)', () => {
    const umbrella = ws.render('observability-demo', 'default', { set: ALL_POLICIES });
    const operator = renders.find((r) => r.chart === 'obsdemo-operator' && r.values === 'ha-values.yaml');
    const flows = flowsOf([
      ...umbrella.objects.filter((o) => o.kind === 'NetworkPolicy'),
      ...(operator?.objects.filter((o) => o.kind === 'NetworkPolicy') ?? []),
    ]);
    console.info(`all flows:\n${flows.join('\n')}`);
    // Nothing may reach everything: an egress rule with neither peers nor ports would undo default deny.
    expect(flows.filter((f) => / -> anywhere :any\//.test(f) || / <- anyone :any\//.test(f))).toEqual([]);
  });
});
