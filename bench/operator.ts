// The operator at scale on a local control plane: the operator process (as `make run` starts it) against a real
// kube-apiserver, kwok making pods Ready.
//   1. CR → all objects applied, warm: after one warm-up demo, 5 demos created one at a time; the time from create
//      to the first status that lists the applied inventory for the demo's generation.
//   2. 100 demos created at once → every one Ready=True.
//   3. Writes per resync with nothing changed: the apiserver's own request counters for the kinds the operator
//      writes, over one resync period (30 s) once everything is Ready.
//   4. The operator's RSS with those demos.
// Usage: node bench/operator.ts [--demos 100] [--concurrency 4] [--heap-mb 160] [--cpu-prof-dir DIR]
//        [--heap-snapshot-dir DIR] [--memory-limit 384Mi|none] [--env NAME=VALUE,...] [--out FILE]
//   The operator runs in a memory cgroup with its Deployment's limit (manifests/install.yaml), as in its pod: V8
//   sizes its heap from that limit, and the kernel would kill it past the limit (counted and reported).
//   (after `make tools build`)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ControlPlane,
  ManagedProcess,
  defaultBinDir,
  freePort,
  kubeRequest,
  loadTls,
  waitUntilReady,
} from '@obsdemo/testenv';
import { describeLoad, loadBefore } from './machine.ts';
import { createMemoryCgroup, joinAndExec, quantityBytes, type MemoryCgroup } from './memory-cgroup.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const demos = Number(option('--demos', '100'));
const out = option('--out', '');
/** Workers; the operator's default. */
const concurrency = option('--concurrency', '4');
/** V8's old-space limit for the operator (MB), as the chart's profile sets it; empty: V8's default. */
const heapMB = option('--heap-mb', '');
/** Where the operator writes a V8 CPU profile (.cpuprofile) when it stops; empty: no profile. */
const cpuProfDir = option('--cpu-prof-dir', '');
/** Where the operator writes a V8 heap snapshot once every demo is Ready, after the RSS is read; empty: none. */
const heapSnapshotDir = option('--heap-snapshot-dir', '') && resolve(option('--heap-snapshot-dir', ''));
if (heapSnapshotDir) mkdirSync(heapSnapshotDir, { recursive: true });
/** The operator container's memory limit in manifests/install.yaml: what its pod runs with. */
function deployedMemoryLimit(): string {
  const manifest = readFileSync(join(root, 'manifests', 'install.yaml'), 'utf8');
  const limit = /limits:\s*\n\s*memory:\s*(\S+)/.exec(manifest)?.[1];
  if (limit === undefined) throw new Error('manifests/install.yaml sets no memory limit for the operator');
  return limit;
}
const memoryLimit = option('--memory-limit', '') || deployedMemoryLimit();
/** Extra environment for the operator process, `NAME=VALUE[,NAME=VALUE]` (allocator or V8 settings to compare). */
const extraEnv = Object.fromEntries(
  option('--env', '')
    .split(',')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 1)
        throw new Error(`--env takes NAME=VALUE pairs separated by commas, not ${JSON.stringify(pair)}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
);
const RESYNC_S = 30;
const WRITTEN = new Set([
  'deployments',
  'statefulsets',
  'services',
  'configmaps',
  'serviceaccounts',
  'secrets',
  'networkpolicies',
  'poddisruptionbudgets',
  'roles',
  'rolebindings',
  'observabilitydemos',
]);

/** The admin's TLS material for a control plane, and a JSON request as admin that throws on any status ≥ 300. */
function adminClient(plane: ControlPlane) {
  const tls = loadTls({
    ca: join(plane.dir, 'ca.crt'),
    cert: join(plane.dir, 'client-admin.crt'),
    key: join(plane.dir, 'client-admin.key'),
  });
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await kubeRequest(plane.server, tls, method, path, body, 30_000);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as T;
  };
  return { tls, api };
}

/** The kinds the operator applies, in its apply order (what workloads depend on first). */
const FLOOR_KINDS = [
  { group: 'v1', plural: 'serviceaccounts' },
  { group: 'v1', plural: 'secrets' },
  { group: 'v1', plural: 'configmaps' },
  { group: 'rbac.authorization.k8s.io/v1', plural: 'roles' },
  { group: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings' },
  { group: 'v1', plural: 'services' },
  { group: 'networking.k8s.io/v1', plural: 'networkpolicies' },
  { group: 'policy/v1', plural: 'poddisruptionbudgets' },
  { group: 'apps/v1', plural: 'statefulsets' },
  { group: 'apps/v1', plural: 'deployments' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const machine = loadBefore();
console.log(describeLoad(machine));

// Six fake nodes: kwok's node takes 250 pods and 100 demos run about 1,100.
const cp = await ControlPlane.start({ nodes: 6 });
const { tls, api } = adminClient(cp);
const crd = JSON.parse(
  JSON.stringify(
    (await import('yaml')).parse(
      readFileSync(join(root, 'crds', 'obsdemo.dev_observabilitydemos.yaml'), 'utf8'),
    ),
  ),
) as unknown;
await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
for (;;) {
  const res = await kubeRequest(cp.server, tls, 'GET', '/apis/obsdemo.dev/v1alpha1');
  if (res.status === 200) break;
  await sleep(200);
}
for (const ns of ['warm', 'scale']) {
  await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}

/**
 * Has the operator write a heap snapshot (SIGUSR2, as `--heapsnapshot-signal` set it) and waits until the file is
 * complete: V8 writes it synchronously, so the operator answers its metrics endpoint again once it is done.
 */
async function heapSnapshot(pid: number | undefined, dir: string): Promise<void> {
  if (pid === undefined) throw new Error('the operator has no pid');
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(1000);
    const written = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    const answered = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      (r) => r.ok,
      () => false,
    );
    if (written.length > 0 && answered) {
      console.log(`heap snapshot: ${join(dir, written[0]!)}`);
      return;
    }
  }
  throw new Error(`no heap snapshot in ${dir} after 600 s`);
}

/** The heap limit V8 picks for a Node process started in `cgroup` (from its memory limit, as in a container). */
function v8HeapLimitIn(cgroup: MemoryCgroup): number {
  const [command, commandArgs] = joinAndExec(cgroup, process.execPath, [
    '-p',
    "require('node:v8').getHeapStatistics().heap_size_limit",
  ]);
  return Number(execFileSync(command, commandArgs, { encoding: 'utf8' }).trim());
}

/** utime+stime of a process and of its reaped children (/proc/<pid>/stat fields 14–17), in seconds. */
function cpuSeconds(pid: number | undefined): { self: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const ticks = 100; // USER_HZ, 100 on Linux
  const at = (field: number) => fields[field - 3] ?? 0;
  return { self: (at(14) + at(15)) / ticks, children: (at(16) + at(17)) / ticks };
}

const port = await freePort();
const cgroup =
  memoryLimit === 'none'
    ? 'not asked for'
    : createMemoryCgroup(`obsdemo-bench-operator-${process.pid}`, quantityBytes(memoryLimit));
if (typeof cgroup === 'string') console.warn(`the operator runs without a memory limit: ${cgroup}`);
const nodeArgs = [
  ...(heapMB ? [`--max-old-space-size=${heapMB}`] : []),
  ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
  ...(heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshotDir}`] : []),
  '--import',
  '@obsdemo/telemetry/register',
  join(root, 'operator', 'dist', 'main.js'),
];
const [command, commandArgs] =
  typeof cgroup === 'string' ? [process.execPath, nodeArgs] : joinAndExec(cgroup, process.execPath, nodeArgs);
const operator = ManagedProcess.start({
  name: 'operator',
  command,
  args: commandArgs,
  cwd: root,
  logFile: join(cp.dir, 'logs', 'operator.log'),
  env: {
    PATH: process.env.PATH ?? '',
    KUBECONFIG: cp.kubeconfig,
    OPERATOR_HOST: '127.0.0.1',
    OPERATOR_PORT: String(port),
    LEADER_ELECT: 'false',
    HELM_BINARY: join(defaultBinDir(), 'helm'),
    CHARTS_DIR: join(root, 'charts'),
    RESYNC_PERIOD: `${RESYNC_S}s`,
    MAX_CONCURRENT_RECONCILES: concurrency,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  },
});

interface Demo {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    inventory?: unknown[];
    conditions?: { type: string; status: string }[];
  };
}
const demoPath = (ns: string, name?: string) =>
  `/apis/obsdemo.dev/v1alpha1/namespaces/${ns}/observabilitydemos${name ? `/${name}` : ''}`;
const create = (ns: string, name: string) =>
  api('POST', demoPath(ns), {
    apiVersion: 'obsdemo.dev/v1alpha1',
    kind: 'ObservabilityDemo',
    metadata: { name },
    spec: {},
  });
const applied = (d: Demo) =>
  (d.status?.inventory?.length ?? 0) > 0 && d.status?.observedGeneration === d.metadata.generation;
const isReady = (d: Demo) =>
  d.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** apiserver_request_total for the kinds the operator writes (object and status), by write verb. */
async function writesSoFar(): Promise<number> {
  const text = (await kubeRequest(cp.server, tls, 'GET', '/metrics', undefined, 30_000)).body;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '';
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const subresource = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(verb) || !WRITTEN.has(resource)) continue;
    if (subresource !== '' && !(resource === 'observabilitydemos' && subresource === 'status')) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** apiserver_request_total by verb, resource and subresource. */
async function requestCounts(): Promise<Map<string, number>> {
  const text = (await kubeRequest(cp.server, tls, 'GET', '/metrics', undefined, 30_000)).body;
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (l: string) => new RegExp(`${l}="([^"]*)"`).exec(line)?.[1] ?? '';
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** What the operator applied for the demos of one namespace, as plain objects to create elsewhere. */
async function exportApplied(namespace: string): Promise<Record<string, unknown>[]> {
  const objects: Record<string, unknown>[] = [];
  for (const { group, plural } of FLOOR_KINDS) {
    const list = await api<{ items: Record<string, unknown>[] }>(
      'GET',
      `${group === 'v1' ? '/api/v1' : `/apis/${group}`}/namespaces/${namespace}/${plural}?labelSelector=obsdemo.dev%2Finstance`,
    );
    for (const item of list.items) {
      const { name, labels, annotations } = item.metadata as {
        name: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      };
      const { 'deployment.kubernetes.io/revision': _revision, ...kept } = annotations ?? {};
      const { status: _status, metadata: _metadata, ...rest } = item;
      const spec = rest.spec as Record<string, unknown> | undefined;
      // Assigned by the server: a new cluster assigns its own.
      if (plural === 'services' && spec && spec.clusterIP !== 'None') {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      objects.push({ ...rest, metadata: { name, labels, annotations: kept }, plural, group });
    }
  }
  return objects;
}

let result: Record<string, unknown> | undefined;
let floorObjects: Record<string, unknown>[] | undefined;
try {
  await waitUntilReady(
    operator,
    'healthy',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
    60_000,
  );

  // 1. Warm: one demo to warm helm, the render cache's chart digests and the connections, then 5 measured.
  const appliedTimes: number[] = [];
  for (let i = 0; i <= 5; i++) {
    const started = performance.now();
    await create('warm', `warm-${i}`);
    for (;;) {
      if (applied(await api<Demo>('GET', demoPath('warm', `warm-${i}`)))) break;
      await sleep(25);
    }
    if (i > 0) appliedTimes.push((performance.now() - started) / 1000);
  }

  // 2. Scale: every demo created at once, then wait until each is Ready.
  const cpuBefore = cpuSeconds(operator.pid);
  const controlPlanePids = Object.entries(cp.state().pids);
  const controlPlaneBefore = controlPlanePids.map(([, pid]) => cpuSeconds(pid).self);
  const requestsBefore = await requestCounts();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: demos }, (_, i) => create('scale', `demo-${String(i).padStart(3, '0')}`)),
  );
  let ready = 0;
  // When the first 25 %, 50 %, 75 % and all demos had their objects applied and were Ready: whether the operator's
  // applies or the cluster's pods set the pace.
  const quarters = [0.25, 0.5, 0.75, 1].map((q) => Math.ceil(q * demos));
  const appliedAt: number[] = [];
  const readyAt: number[] = [];
  const seconds = () => Math.round(performance.now() - started) / 1000;
  for (;;) {
    const list = await api<{ items: Demo[] }>('GET', demoPath('scale'));
    ready = list.items.filter(isReady).length;
    const nApplied = list.items.filter(applied).length;
    while (appliedAt.length < 4 && nApplied >= quarters[appliedAt.length]!) appliedAt.push(seconds());
    while (readyAt.length < 4 && ready >= quarters[readyAt.length]!) readyAt.push(seconds());
    if (ready === demos) break;
    if (performance.now() - started > 900_000)
      throw new Error(`only ${ready}/${demos} Ready after 15 minutes`);
    await sleep(1000);
  }
  const readyS = (performance.now() - started) / 1000;
  // The apiserver's busiest request kinds over the scale phase (all clients: operator, controllers, kwok).
  const requestsAfter = await requestCounts();
  const scaleRequests = Object.fromEntries(
    [...requestsAfter]
      .map(([key, n]) => [key, n - (requestsBefore.get(key) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15),
  );
  const cpuAfter = cpuSeconds(operator.pid);
  // Where the scale phase's CPU went: the operator's own code, and the helm processes it ran (reaped children).
  const scaleCpu = {
    operatorS: cpuAfter.self - cpuBefore.self,
    helmChildrenS: cpuAfter.children - cpuBefore.children,
    // The control plane's processes over the same phase (etcd, kube-apiserver, controller-manager, scheduler, kwok).
    controlPlane: Object.fromEntries(
      controlPlanePids.map(([name, pid], i) => [name, cpuSeconds(pid).self - controlPlaneBefore[i]!]),
    ),
  };

  // 3. Quiet: let requeues settle, then count writes over one resync period plus a margin.
  await sleep(15_000);
  const before = await writesSoFar();
  await sleep((RESYNC_S + 5) * 1000);
  const resyncWrites = (await writesSoFar()) - before;

  // 4. RSS of the operator with every demo in its caches.
  const status = readFileSync(`/proc/${operator.pid}/status`, 'utf8');
  const statusMB = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  const rssMB = statusMB('VmRSS');
  // What the RSS holds, from the operator's own prom-client metrics: V8's heap (used, and reserved) and memory
  // outside it (Buffers, the native side of sockets and TLS).
  const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metricsText)?.[1] ?? NaN) / 2 ** 20;
  const memoryMB = {
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    heapTotal: gauge('nodejs_heap_size_total_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
    /** The RSS split: anonymous memory (heap, malloc, JIT code) and pages of mapped files (node's binary). */
    rssAnon: statusMB('RssAnon'),
    rssFile: statusMB('RssFile'),
  };
  // As in its pod: the limit it ran under, the highest charge of its cgroup (the operator and its helm processes,
  // page cache included, as the kubelet counts it) and how often the kernel killed for the limit.
  const memoryLimitResult =
    typeof cgroup === 'string'
      ? { applied: false as const, reason: cgroup }
      : {
          applied: true as const,
          limit: memoryLimit,
          limitMB: cgroup.limitBytes / 2 ** 20,
          peakMB: (cgroup.peakBytes() ?? NaN) / 2 ** 20,
          oomKills: cgroup.oomKills(),
          heapLimitMB: v8HeapLimitIn(cgroup) / 2 ** 20,
        };

  if (heapSnapshotDir) await heapSnapshot(operator.pid, heapSnapshotDir);

  // The objects the operator applied for the scale phase's demos, for the cluster's own floor below.
  floorObjects = await exportApplied('scale');

  const scale = {
    loadBefore: machine,
    demos,
    concurrency: Number(concurrency),
    heapMB: heapMB ? Number(heapMB) : null,
    appliedWarmS: appliedTimes,
    appliedWarmMedianS: median(appliedTimes),
    readyAllS: readyS,
    /** Seconds after the creates until 25, 50, 75 and 100 % of the demos were applied, and were Ready. */
    appliedQuartersS: appliedAt,
    readyQuartersS: readyAt,
    scaleCpu,
    scaleRequests,
    writesOverOneResync: resyncWrites,
    rssMB,
    memoryMB,
    memoryLimit: memoryLimitResult,
  };
  console.log(
    `operator: CR → applied (warm) median ${scale.appliedWarmMedianS.toFixed(2)} s (${appliedTimes.map((t) => t.toFixed(2)).join(', ')}); ` +
      `${demos} CRs → Ready in ${readyS.toFixed(1)} s (applied at quarters ${appliedAt.join(', ')} s, Ready at ${readyAt.join(', ')} s; CPU: operator ${scaleCpu.operatorS.toFixed(0)} s, helm ${scaleCpu.helmChildrenS.toFixed(0)} s, ${Object.entries(
        scaleCpu.controlPlane,
      )
        .map(([n, s]) => `${n} ${s.toFixed(0)} s`)
        .join(
          ', ',
        )}); writes over one ${RESYNC_S} s resync: ${resyncWrites}; RSS ${rssMB.toFixed(0)} MB (V8 heap ${memoryMB.heapUsed.toFixed(0)} MB used of ${memoryMB.heapTotal.toFixed(0)} MB, external ${memoryMB.external.toFixed(0)} MB; anonymous ${memoryMB.rssAnon.toFixed(0)} MB, files ${memoryMB.rssFile.toFixed(0)} MB)` +
      (memoryLimitResult.applied
        ? `; under the pod's limit of ${memoryLimitResult.limit} (V8 heap limit ${memoryLimitResult.heapLimitMB.toFixed(0)} MB): cgroup peak ${memoryLimitResult.peakMB.toFixed(0)} MB, OOM kills ${memoryLimitResult.oomKills}`
        : `; no memory limit (${memoryLimitResult.reason})`),
  );
  result = scale;
  console.log(
    `apiserver requests during the scale phase: ${Object.entries(scaleRequests)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
} finally {
  await operator.stop();
  await cp.stop();
  if (typeof cgroup !== 'string') {
    try {
      cgroup.remove();
    } catch (error) {
      console.warn(`could not remove ${cgroup.dir}: ${(error as Error).message}`);
    }
  }
}

// 5. The cluster's own floor: the same objects created directly, without the operator and helm, on a fresh control
// plane of the same shape; the time until every workload is ready and the CPU of the control plane meanwhile. What
// the operator adds is the difference.
if (result === undefined || floorObjects === undefined) throw new Error('the scale phase did not finish');
const floor = await clusterFloor(floorObjects);
console.log(
  `cluster floor: the same ${floor.objects} objects created directly → every workload ready in ${floor.readyS.toFixed(1)} s (CPU: ${Object.entries(
    floor.cpu,
  )
    .map(([n, s]) => `${n} ${s.toFixed(0)} s`)
    .join(', ')})`,
);
if (out) writeFileSync(out, JSON.stringify({ ...result, clusterFloor: floor }, null, 2));

/**
 * Creates `objects` in a namespace of a fresh control plane (six kwok nodes, as above), 16 requests at a time in
 * apply order, and waits until every Deployment and StatefulSet has all its replicas ready.
 */
async function clusterFloor(
  objects: Record<string, unknown>[],
): Promise<{ objects: number; readyS: number; cpu: Record<string, number> }> {
  const plane = await ControlPlane.start({ nodes: 6 });
  const { api: call } = adminClient(plane);
  try {
    const ns = 'floor';
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const pids = Object.entries(plane.state().pids);
    const before = pids.map(([, pid]) => cpuSeconds(pid).self);
    const started = performance.now();
    for (const { group, plural } of FLOOR_KINDS) {
      const batch = objects.filter((o) => o.plural === plural && o.group === group);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < batch.length) {
            const { plural: _p, group: _g, ...obj } = batch[next++]!;
            const base = group === 'v1' ? '/api/v1' : `/apis/${group}`;
            await call('POST', `${base}/namespaces/${ns}/${plural}`, {
              ...obj,
              metadata: { ...(obj.metadata as object), namespace: ns },
            });
          }
        }),
      );
    }
    interface Workload {
      spec: { replicas?: number };
      status?: { readyReplicas?: number };
    }
    for (;;) {
      const lists = await Promise.all(
        ['deployments', 'statefulsets'].map((p) =>
          call<{ items: Workload[] }>('GET', `/apis/apps/v1/namespaces/${ns}/${p}`),
        ),
      );
      const workloads = lists.flatMap((l) => l.items);
      if (workloads.every((w) => (w.status?.readyReplicas ?? 0) >= (w.spec.replicas ?? 1))) break;
      if (performance.now() - started > 900_000)
        throw new Error('the floor run did not become ready in 15 minutes');
      await sleep(1000);
    }
    const readyS = (performance.now() - started) / 1000;
    const cpu = Object.fromEntries(pids.map(([name, pid], i) => [name, cpuSeconds(pid).self - before[i]!]));
    return { objects: objects.length, readyS, cpu };
  } finally {
    await plane.stop();
  }
}
