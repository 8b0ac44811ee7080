// The operator's RBAC is least privilege: the rendered rules equal the table in charts/obsdemo-operator/README.md
// (parsed here, so the README is the machine-readable source), and the real apiserver, impersonating the
// operator's ServiceAccount with exactly the chart's RBAC objects, allows what it needs and refuses the rest.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, impersonate, kubeConfigFromEnv } from '@obsdemo/testenv';
import {
  ChartWorkspace,
  chartsDir,
  kubeCall,
  objectPath,
  serverSideApply,
  type Unstructured,
} from './security-support.js';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** One granted permission per line: "group/resource[names] verb". */
function expand(rules: PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups ?? [''])
      for (const res of r.resources ?? [])
        for (const v of r.verbs) {
          const names = r.resourceNames?.length ? `[${[...r.resourceNames].sort().join(',')}]` : '';
          out.add(`${g || 'core'}/${res}${names} ${v}`);
        }
  return [...out].sort();
}

const cells = (line: string) =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
const list = (cell: string) =>
  cell
    .split(',')
    .map((x) => x.trim().replace(/^`|`$/g, ''))
    .filter((x) => x.length > 0)
    .map((x) => (x === '""' ? '' : x));

/** The README's two RBAC tables: the operator's rules and the leader-election Role's rules. */
function documentedRules(readme: string, leaseName: string): { main: PolicyRule[]; leader: PolicyRule[] } {
  const section = readme.slice(readme.indexOf('## RBAC'), readme.indexOf('## Configuration'));
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (current === undefined) tables.push((current = []));
    current.push(cells(line));
  }
  // Each table's first two rows are its header and the |---| separator.
  const [mainRows, leaderRows] = tables.map((t) => t.slice(2));
  if (!mainRows || !leaderRows) throw new Error('README: the two RBAC tables were not found under "## RBAC"');
  const main = mainRows.map(([groups = '', resources = '', verbs = '']) => ({
    apiGroups: list(groups),
    resources: list(resources),
    verbs: list(verbs),
  }));
  const leader = leaderRows.map(([groups = '', resources = '', names = '', verbs = '']) => ({
    apiGroups: list(groups),
    resources: list(resources),
    ...(names.trim() === '—' ? {} : { resourceNames: [leaseName] }),
    verbs: list(verbs),
  }));
  return { main, leader };
}

const readme = readFileSync(join(chartsDir, 'obsdemo-operator', 'README.md'), 'utf8');
let ws: ChartWorkspace;

beforeAll(() => {
  ws = new ChartWorkspace();
});

afterAll(() => {
  ws.dispose();
});

const rulesOf = (objects: Unstructured[], kind: string, nameEnds = '') =>
  objects
    .filter((o) => o.kind === kind && o.metadata.name.endsWith(nameEnds))
    .flatMap((o) => (o as unknown as { rules: PolicyRule[] }).rules);

describe('operator RBAC: rendered rules vs the documented table', () => {
  it.each([
    ['cluster-wide (ClusterRole)', 'ClusterRole', []],
    ['one namespace (Role)', 'Role', ['watchNamespace=shop']],
  ])('%s grants exactly the README rules', (_mode, kind, set) => {
    const { objects } = ws.render('obsdemo-operator', 'default', { release: 'obsdemo', set });
    const lease = 'obsdemo-obsdemo-operator';
    const documented = documentedRules(readme, lease);
    const granted = expand(
      objects
        .filter((o) => o.kind === kind && !o.metadata.name.endsWith('-leader-election'))
        .flatMap((o) => (o as unknown as { rules: PolicyRule[] }).rules),
    );
    const expected = expand(documented.main);
    expect(expected.length).toBeGreaterThan(40);
    expect({ extra: granted.filter((g) => !expected.includes(g)) }).toEqual({ extra: [] });
    expect({ missing: expected.filter((g) => !granted.includes(g)) }).toEqual({ missing: [] });

    const leader = expand(rulesOf(objects, 'Role', '-leader-election'));
    expect(leader).toEqual(expand(documented.leader));
    // A ClusterRole exists only in cluster-wide mode, and nothing anywhere holds a wildcard or an escalation verb.
    expect(objects.some((o) => o.kind === 'ClusterRole')).toBe(kind === 'ClusterRole');
    const all = [...granted, ...leader];
    expect(all.filter((p) => /\*|\b(escalate|bind|impersonate)$/.test(p))).toEqual([]);
  });

  it('the comparison can fail: one extra verb is caught', () => {
    const expected = expand(documentedRules(readme, 'x').main);
    const tampered = expand([
      ...documentedRules(readme, 'x').main,
      { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
    ]);
    expect(tampered.filter((g) => !expected.includes(g))).toEqual(['core/secrets list']);
  });
});

// ---- impersonation on the real control plane --------------------------------------------------------------------

let kc: KubeConfig;
let operatorNs: string;
let userNs: string;
let asOperator: KubeConfig;
const cleanup: (() => Promise<unknown>)[] = [];

async function applyOperatorRbac(release: string, set: string[]): Promise<KubeConfig> {
  const { objects } = ws.render('obsdemo-operator', 'default', { release, namespace: operatorNs, set });
  const rbac = objects.filter((o) =>
    ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind),
  );
  for (const obj of rbac) {
    const result = await serverSideApply(kc, obj);
    if (result.status >= 300)
      throw new Error(`applying ${obj.kind}/${obj.metadata.name}: ${String(result.body.message)}`);
    if (obj.kind.startsWith('Cluster'))
      cleanup.push(() => kubeCall(kc, 'DELETE', objectPath(obj.apiVersion, obj.kind, obj.metadata.name)));
  }
  const sa = rbac.find((o) => o.kind === 'ServiceAccount');
  if (!sa) throw new Error('the operator chart renders no ServiceAccount');
  return impersonate(kc, `system:serviceaccount:${operatorNs}:${sa.metadata.name}`);
}

const secretBody = (name: string, namespace: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  stringData: { password: 'not-a-real-one' },
});

describe('operator RBAC: what its ServiceAccount can and cannot do (impersonated)', () => {
  beforeAll(async () => {
    kc = kubeConfigFromEnv();
    operatorNs = await createTestNamespace(kc, 'security-operator');
    userNs = await createTestNamespace(kc, 'security-user');
    asOperator = await applyOperatorRbac('secop', []);
  }, 60_000);

  afterAll(async () => {
    for (const undo of cleanup) await undo().catch(() => undefined);
    if (userNs) await deleteTestNamespace(kc, userNs);
    if (operatorNs) await deleteTestNamespace(kc, operatorNs);
  });

  const status = async (method: string, path: string, body?: unknown) =>
    (await kubeCall(asOperator, method, path, body)).status;

  it('can create a Deployment in a user namespace', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: userNs },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nginx',
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 1000,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                  seccompProfile: { type: 'RuntimeDefault' },
                },
              },
            ],
          },
        },
      },
    };
    expect(await status('POST', objectPath('apps/v1', 'Deployment', undefined, userNs), deployment)).toBe(
      201,
    );
  });

  it('can create a Secret (a second create is 409), but cannot get, list or watch Secrets', async () => {
    const collection = objectPath('v1', 'Secret', undefined, userNs);
    expect(await status('POST', collection, secretBody('creds', userNs))).toBe(201);
    // AlreadyExists, not Forbidden: how the operator learns that its generated Secret exists without reading it.
    expect(await status('POST', collection, secretBody('creds', userNs))).toBe(409);
    expect(await status('GET', objectPath('v1', 'Secret', 'creds', userNs))).toBe(403);
    expect(await status('GET', collection)).toBe(403);
    expect(await status('GET', `${collection}?watch=true&timeoutSeconds=1`)).toBe(403);
    expect(await status('GET', '/api/v1/secrets')).toBe(403);
    expect(await status('DELETE', objectPath('v1', 'Secret', 'creds', userNs))).toBe(403);
  });

  it('cannot create ClusterRoles', async () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${operatorNs}-evil` },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    };
    expect(await status('POST', objectPath(role.apiVersion, 'ClusterRole'), role)).toBe(403);
  });

  it('cannot escalate: a Role granting Secrets list is refused, the prometheus Role (pods read) is allowed', async () => {
    const role = (name: string, resources: string[], verbs: string[]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: userNs },
      rules: [{ apiGroups: [''], resources, verbs }],
    });
    const path = objectPath('rbac.authorization.k8s.io/v1', 'Role', undefined, userNs);
    const escalation = await kubeCall(
      asOperator,
      'POST',
      path,
      role('read-secrets', ['secrets'], ['get', 'list']),
    );
    expect(escalation.status).toBe(403);
    expect(String(escalation.body.message)).toMatch(
      /attempting to grant RBAC permissions not currently held/,
    );
    expect(await status('POST', path, role('pod-reader', ['pods'], ['get', 'list', 'watch']))).toBe(201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'to-admin', namespace: userNs },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: userNs }],
    };
    expect(
      await status('POST', objectPath(binding.apiVersion, 'RoleBinding', undefined, userNs), binding),
    ).toBe(403);
  });

  it('cannot delete namespaces, nor touch Nodes or CRDs', async () => {
    expect(await status('DELETE', objectPath('v1', 'Namespace', userNs))).toBe(403);
    expect(await status('GET', '/api/v1/nodes')).toBe(403);
    expect(
      await status(
        'DELETE',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/observabilitydemos.obsdemo.dev',
      ),
    ).toBe(403);
  });

  it('cannot read a Secret by name in another namespace, kube-system included, though bound cluster-wide', async () => {
    const name = `security-probe-${operatorNs.slice(-6)}`;
    const created = await kubeCall(
      kc,
      'POST',
      objectPath('v1', 'Secret', undefined, 'kube-system'),
      secretBody(name, 'kube-system'),
    );
    expect(created.status).toBe(201);
    cleanup.push(() => kubeCall(kc, 'DELETE', objectPath('v1', 'Secret', name, 'kube-system')));
    // The probe exists (admin reads it), so a 403 is the RBAC decision, not a missing object.
    expect((await kubeCall(kc, 'GET', objectPath('v1', 'Secret', name, 'kube-system'))).status).toBe(200);
    expect(await status('GET', objectPath('v1', 'Secret', name, 'kube-system'))).toBe(403);
  });
});
