// Shared by the security-*.test.ts files: rendering every chart with the real helm, talking to the apiserver with
// the response's Warning headers visible, and the programmatic PodSecurity "restricted" check.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { YAML11_SCHEMA, loadAll } from 'js-yaml';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const chartsDir = join(repoRoot, 'charts');
const helmBinary = join(repoRoot, 'bin', 'helm');

/** One rendered object as plain JSON, as the operator's `Unstructured` (client-go's `unstructured.Unstructured`). */
export interface Unstructured {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export interface Render {
  chart: string;
  /** `default` or the ci/*-values.yaml file name, or a description of the --set overrides. */
  values: string;
  objects: Unstructured[];
}

/**
 * A private copy of charts/ with the umbrella's dependencies built into it, so the repository's charts/ folder
 * gets no packed subcharts, and helm's cache/config stay inside the copy.
 */
export class ChartWorkspace {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor() {
    if (!existsSync(helmBinary)) throw new Error(`${helmBinary} not found: run hack/tools/build.sh helm`);
    this.dir = mkdtempSync(join(tmpdir(), 'obsdemo-security-charts-'));
    cpSync(chartsDir, join(this.dir, 'charts'), { recursive: true });
    const helmHome = join(this.dir, 'helm-home');
    this.env = {
      PATH: process.env.PATH ?? '',
      HELM_CACHE_HOME: helmHome,
      HELM_CONFIG_HOME: helmHome,
      HELM_DATA_HOME: helmHome,
    };
    for (const chart of this.charts()) {
      const chartDir = join(this.dir, 'charts', chart);
      rmSync(join(chartDir, 'charts'), { recursive: true, force: true });
      if (/^dependencies:/m.test(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')))
        this.helm(['dependency', 'build', chartDir]);
    }
  }

  charts(): string[] {
    return readdirSync(join(this.dir, 'charts'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.dir, 'charts', d.name, 'Chart.yaml')))
      .map((d) => d.name)
      .sort();
  }

  /** The chart's values files: its defaults (`default`) and every ci/*-values.yaml. */
  valuesFiles(chart: string): string[] {
    const ci = join(this.dir, 'charts', chart, 'ci');
    const files = existsSync(ci) ? readdirSync(ci).filter((f) => f.endsWith('-values.yaml')) : [];
    return ['default', ...files.sort()];
  }

  render(
    chart: string,
    values: string,
    opts: { release?: string; namespace?: string; set?: string[] } = {},
  ): Render {
    const args = [
      'template',
      opts.release ?? 'sec',
      join(this.dir, 'charts', chart),
      '--namespace',
      opts.namespace ?? 'security',
    ];
    if (values !== 'default') args.push('--values', join(this.dir, 'charts', chart, 'ci', values));
    for (const s of opts.set ?? []) args.push('--set', s);
    const out = this.helm(args);
    // YAML 1.1, as the apiserver and kubectl read manifests: `defaultMode: 0555` is octal.
    const objects = loadAll(out, { schema: YAML11_SCHEMA }).filter(
      (o): o is Unstructured => typeof o === 'object' && o !== null && 'kind' in o,
    );
    const label = opts.set?.length ? `${values} + ${opts.set.join(',')}` : values;
    return { chart, values: label, objects };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private helm(args: string[]): string {
    return execFileSync(helmBinary, args, { encoding: 'utf8', env: this.env, maxBuffer: 64 * 1024 * 1024 });
  }
}

/** Every chart rendered with its defaults and with each ci/*-values.yaml. */
export function renderEverything(ws: ChartWorkspace, namespace = 'security'): Render[] {
  return ws.charts().flatMap((chart) =>
    ws.valuesFiles(chart).map((values, i) =>
      ws.render(chart, values, {
        namespace,
        // One release per render, so applying several renders into one namespace never collides.
        release: `${chart.replace(/[^a-z]/g, '').slice(0, 10)}${i}`,
      }),
    ),
  );
}

// ---- pod specs -------------------------------------------------------------------------------------------------

export interface Container {
  name: string;
  ports?: { hostPort?: number }[];
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type?: string };
  };
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
}

export interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

const WORKLOAD_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'Pod',
]);

export const isWorkload = (o: Unstructured) => WORKLOAD_KINDS.has(o.kind);

/** The pod spec a workload object creates pods from. */
export function podSpecOf(o: Unstructured): PodSpec {
  const spec = o.spec as Record<string, unknown>;
  if (o.kind === 'Pod') return spec as unknown as PodSpec;
  if (o.kind === 'CronJob') {
    const job = spec.jobTemplate as { spec: { template: { spec: PodSpec } } };
    return job.spec.template.spec;
  }
  return (spec.template as { spec: PodSpec }).spec;
}

/** The pod template's labels (a Pod's own labels). */
export function podLabelsOf(o: Unstructured): Record<string, string> {
  if (o.kind === 'Pod') return o.metadata.labels ?? {};
  const spec = o.spec as Record<string, unknown>;
  const template =
    o.kind === 'CronJob'
      ? (spec.jobTemplate as { spec: { template: { metadata?: { labels?: Record<string, string> } } } }).spec
          .template
      : (spec.template as { metadata?: { labels?: Record<string, string> } });
  return template.metadata?.labels ?? {};
}

const allContainers = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/**
 * The Pod Security Standard "restricted" (v1.36) checks, in our own words: every violation as one readable line.
 * The apiserver's own admission is the authority (see security-manifests.test.ts); this gives precise messages.
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  if (pod.hostNetwork === true) out.push('hostNetwork: true');
  if (pod.hostPID === true) out.push('hostPID: true');
  if (pod.hostIPC === true) out.push('hostIPC: true');
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !RESTRICTED_VOLUME_TYPES.has(type))
      out.push(`volume ${String(v.name)}: type ${String(type)}`);
  }
  const podSc = pod.securityContext ?? {};
  for (const c of allContainers(pod)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities.drop lacks ALL`);
    const added = (sc.capabilities?.add ?? []).filter((a) => a !== 'NET_BIND_SERVICE');
    if (added.length > 0) out.push(`${where}: capabilities.add ${added.join(',')}`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      out.push(`${where}: seccompProfile.type is ${String(seccomp)}`);
    if ((c.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0))
      out.push(`${where}: hostPort`);
  }
  return out;
}

/** Containers whose root filesystem is writable. */
export function writableRootContainers(pod: PodSpec): string[] {
  return allContainers(pod)
    .filter((c) => c.securityContext?.readOnlyRootFilesystem !== true)
    .map((c) => c.name);
}

// ---- the apiserver with warnings ---------------------------------------------------------------------------------

export interface KubeCall {
  status: number;
  body: Record<string, unknown>;
  /** The `Warning` headers of the response (PodSecurity "would violate …", deprecations). */
  warnings: string[];
}

/** One request as the kubeconfig's identity (impersonation included), keeping the response's Warning headers. */
export async function kubeCall(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<KubeCall> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const opts: { headers: Record<string, string> } & Record<string, unknown> = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) opts.headers['content-type'] = contentType;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cluster.server), { ...opts, method, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const raw = res.headers.warning;
        const warnings = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((w) =>
          w.replace(/^\d{3} - "?/, '').replace(/"$/, ''),
        );
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { raw: text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const PLURALS: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Pod: 'pods',
  Secret: 'secrets',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  ServiceAccount: 'serviceaccounts',
  Namespace: 'namespaces',
};

/** The REST path of a namespaced or cluster-scoped object of a kind listed above. */
export function objectPath(apiVersion: string, kind: string, name?: string, namespace?: string): string {
  const plural = PLURALS[kind];
  if (plural === undefined) throw new Error(`no REST plural known for ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace === undefined ? '' : `/namespaces/${namespace}`;
  return `${base}${ns}/${plural}${name === undefined ? '' : `/${name}`}`;
}

/** Server-side apply (`force`, field manager `obsdemo-security`), optionally as a dry run. */
export function serverSideApply(kc: KubeConfig, obj: Unstructured, dryRun = false): Promise<KubeCall> {
  const path = objectPath(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
  const query = `?fieldManager=obsdemo-security&force=true${dryRun ? '&dryRun=All' : ''}`;
  return kubeCall(kc, 'PATCH', path + query, obj, 'application/apply-patch+yaml');
}
