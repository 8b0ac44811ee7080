// The operator as a real process (operator/dist/main.js, as `make run` and the image start it), on a control
// plane of its own because these tests restart the apiserver. It authenticates as its chart's ServiceAccount
// (a kubeconfig that impersonates it), so it has exactly the chart's RBAC.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import {
  ControlPlane,
  ManagedProcess,
  defaultBinDir,
  eventually,
  freePort,
  waitUntilReady,
} from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import { ResourceClient, type Unstructured } from '../../src/kube/resource-client.js';
import { HelmRenderer } from '../../src/render/helm-template.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const OPERATOR_NS = 'obsdemo-system';
const NS = 'shop';

let cp: ControlPlane;
let admin: ResourceClient;
let operatorKubeconfig: string;
const workDir = mkdtempSync(join(tmpdir(), 'obsdemo-operator-'));
const operators: ManagedProcess[] = [];
let latestPort = 0;

async function startOperator(name: string): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const proc = ManagedProcess.start({
    name: `operator-${name}`,
    command: process.execPath,
    args: ['--import', '@obsdemo/telemetry/register', join(root, 'operator', 'dist', 'main.js')],
    cwd: root,
    logFile: join(workDir, `operator-${name}.log`),
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: operatorKubeconfig,
      OPERATOR_HOST: '127.0.0.1',
      OPERATOR_PORT: String(port),
      POD_NAMESPACE: OPERATOR_NS,
      POD_NAME: name,
      LEADER_ELECT: 'true',
      HELM_BINARY: join(defaultBinDir(), 'helm'),
      CHARTS_DIR: join(root, 'charts'),
      RESYNC_PERIOD: '30s',
      LOG_LEVEL: 'debug',
    },
  });
  operators.push(proc);
  await waitUntilReady(
    proc,
    'healthy',
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
    60_000,
  );
  return { proc, port };
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(join(defaultBinDir(), 'kubectl'), args, {
    env: { ...process.env, KUBECONFIG: cp.kubeconfig },
  });
  return stdout;
}

async function demo(name: string): Promise<DefaultedObservabilityDemo | undefined> {
  return admin.get<DefaultedObservabilityDemo>({ apiVersion: API_VERSION, kind: KIND, namespace: NS, name });
}

const ready = (d: DefaultedObservabilityDemo | undefined) =>
  d?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
  d.status?.observedGeneration === d.metadata?.generation;

/** Scales one service through the demo's spec, as a user would with kubectl. */
async function scale(service: string, replicas: number): Promise<void> {
  const patch = JSON.stringify({ spec: { services: { [service]: { replicas } } } });
  await kubectl('patch', 'od', 'shop', '-n', NS, '--type=merge', '-p', patch);
}

/** Waits until the demo is Ready for its current generation with `service` at `replicas`. */
async function converged(what: string, service: string, replicas: number): Promise<void> {
  await eventually(
    what,
    async () => {
      const d = await demo('shop');
      return ready(d) && d?.status?.components?.find((c) => c.name === service)?.desired === replicas
        ? true
        : undefined;
    },
    120_000,
  );
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await admin.get<{ spec?: { holderIdentity?: string } }>({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: OPERATOR_NS,
    name: 'obsdemo-operator',
  });
  return lease?.spec?.holderIdentity;
}

beforeAll(async () => {
  cp = await ControlPlane.start();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  admin = await ResourceClient.fromKubeConfig(kc);
  await kubectl('apply', '--server-side', '-f', join(root, 'crds'));
  await kubectl('wait', '--for=condition=Established', 'crd/observabilitydemos.obsdemo.dev', '--timeout=60s');
  await kubectl('create', 'namespace', OPERATOR_NS);
  await kubectl('create', 'namespace', NS);
  await kubectl('label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted');
  // The chart's RBAC; the operator Deployment itself is not applied (the test runs the process).
  const renderer = new HelmRenderer({
    helmBinary: join(defaultBinDir(), 'helm'),
    chartsDir: join(root, 'charts'),
  });
  const objects = await renderer.render({
    chart: 'obsdemo-operator',
    release: 'obsdemo-operator',
    namespace: OPERATOR_NS,
    values: {},
  });
  for (const o of objects.filter((x: Unstructured) => x.kind !== 'Deployment'))
    await admin.apply(o, 'obsdemo-test');
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  const config = load(readFileSync(cp.kubeconfig, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  config.users[0]!.user.as = `system:serviceaccount:${OPERATOR_NS}:${sa?.metadata.name ?? ''}`;
  operatorKubeconfig = join(workDir, 'operator.kubeconfig');
  writeFileSync(operatorKubeconfig, dump(config), { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  for (const p of operators) await p.stop();
  await cp?.stop();
});

describe('operator process', () => {
  it('reconciles a sample to Ready, seen through kubectl wait, get and describe', async () => {
    const { proc } = await startOperator('a');
    const sample = readFileSync(join(root, 'manifests', 'samples', 'minimal.yaml'), 'utf8');
    writeFileSync(join(workDir, 'minimal.yaml'), sample);
    await kubectl('apply', '--server-side', '-n', NS, '-f', join(workDir, 'minimal.yaml'));
    await kubectl('wait', '--for=condition=Ready', 'od/shop', '-n', NS, '--timeout=90s');
    const table = await kubectl('get', 'od', '-n', NS);
    expect(table).toMatch(/shop\s+Ready\s+True\s+5\/5/);
    await eventually('the Ready event to be written', async () =>
      (await kubectl('describe', 'od', 'shop', '-n', NS)).includes('Ready') &&
      (await kubectl('get', 'events.events.k8s.io', '-n', NS, '-o', 'name')).length > 0
        ? true
        : undefined,
    );
    const described = await kubectl('describe', 'od', 'shop', '-n', NS);
    expect(described).toMatch(/Normal\s+Applied/);
    expect(proc.running).toBe(true);
  });

  it('keeps working across an apiserver restart without restarting itself', async () => {
    await cp.restartApiserver();
    await scale('catalog', 2);
    await converged('the change to be reconciled after the restart', 'catalog', 2);
    expect(operators[0]!.running).toBe(true);
  });

  it('fails over to a standby when the leader is killed, and the standby converges', async () => {
    const first = await leaseHolder();
    expect(first).toMatch(/^a_/);
    await startOperator('b');
    // Two processes, one leader: the standby campaigns but the lease stays with a (renewed every 2 s).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await leaseHolder()).toBe(first);
    await operators[0]!.kill();
    await eventually(
      'the standby to take the lease',
      async () => ((await leaseHolder())?.startsWith('b_') ? true : undefined),
      60_000,
    );
    // Killed mid-way through its work or not, the new leader converges a fresh change.
    await scale('processor', 2);
    await converged('the new leader to reconcile', 'processor', 2);
  });

  it('converges after the operator is killed mid-reconcile and started again', async () => {
    // A change lands and the only operator is killed while it works on it (SIGKILL, no lease release). A
    // reconcile renders six charts with helm, so 300 ms after the change it is in the middle of one.
    await scale('gateway', 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await operators[1]!.kill();
    latestPort = (await startOperator('d')).port;
    // The killed leader's lease must expire (15 s) before the new process may lead.
    await eventually(
      'the restarted operator to lead',
      async () => ((await leaseHolder())?.startsWith('d_') ? true : undefined),
      60_000,
    );
    await converged('the restarted operator to converge', 'gateway', 2);
  });

  it("serves controller-runtime's metric names", async () => {
    // The leader reconciles every demo when it starts leading (and again on each resync). Without a Prometheus
    // to verify telemetry against, a finished reconcile asks to be requeued for the next check: requeue_after.
    const text = await eventually(
      'a finished reconcile counted',
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${latestPort}/metrics`)).text();
        return /controller_runtime_reconcile_total\{[^}]*result="(success|requeue_after)"[^}]*\} [1-9]/.test(
          body,
        )
          ? body
          : undefined;
      },
      60_000,
    );
    expect(text).toContain('workqueue_depth');
    expect(text).toContain('controller_runtime_reconcile_time_seconds_bucket');
  });
});
