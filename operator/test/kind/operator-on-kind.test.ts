import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_SERVICE_GRAPH } from '@obsdemo/contracts';
import { eventually } from '@obsdemo/testenv';

// The kind tier (make test-kind, which brings up the cluster, builds the images and loads them first): the user's
// path on real pods. hack/kind/demo.sh installs the operator from manifests/install.yaml (two replicas, leader
// election on) and applies the sample a person would; every assertion below reads the cluster as it is.

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cluster = process.env.KIND_CLUSTER ?? 'obsdemo';
const kubeconfig = join(repoRoot, '.tmp', 'kind', `${cluster}.kubeconfig`);
const kubectlBin = join(repoRoot, 'bin', 'kubectl');
const NS = 'demo';
const NAME = 'shop';
const OPERATOR_NS = 'obsdemo-system';
/** Each step waits on real controllers and pods of a 2-core machine: up to ten minutes for telemetry, five for a rollout. */
const STEP_TIMEOUT_MS = 1_260_000;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(kubectlBin, ['--kubeconfig', kubeconfig, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function getJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: {
    securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
    containers: {
      name: string;
      image: string;
      securityContext?: {
        runAsNonRoot?: boolean;
        readOnlyRootFilesystem?: boolean;
        allowPrivilegeEscalation?: boolean;
        capabilities?: { drop?: string[] };
      };
    }[];
  };
  status: { phase?: string; conditions?: Condition[] };
}
interface Demo {
  metadata: { generation: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

const condition = (demo: Demo, type: string) => demo.status?.conditions?.find((c) => c.type === type);
const podReady = (pod: Pod) => pod.status.conditions?.find((c) => c.type === 'Ready');

/** `kubectl port-forward` of a Service to a free port on 127.0.0.1; the forward ends with the test. */
async function portForward(service: string, port: number): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn(
    kubectlBin,
    [
      '--kubeconfig',
      kubeconfig,
      '-n',
      NS,
      'port-forward',
      '--address',
      '127.0.0.1',
      `svc/${service}`,
      `0:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const local = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`port-forward to ${service} exited (${code}): ${out}`)));
  });
  return { url: `http://127.0.0.1:${local}`, stop: () => child.kill() };
}

const forwards: { stop: () => void }[] = [];

beforeAll(async () => {
  // The demo as `make demo` installs it, with the operator's two replicas the HA install uses.
  await execFileAsync(join(repoRoot, 'hack', 'kind', 'demo.sh'), [], {
    env: { ...process.env, DEMO_NO_WAIT: '1', OPERATOR_REPLICAS: '2' },
    maxBuffer: 64 * 1024 * 1024,
  });
}, 1_800_000);

afterAll(() => {
  for (const f of forwards) f.stop();
});

describe('the operator on a kind cluster, on real pods', () => {
  it(
    'runs two operator replicas from install.yaml, one of them holding the leader Lease',
    async () => {
      const pods = await getJson<{ items: Pod[] }>(
        'pods',
        '-n',
        OPERATOR_NS,
        '-l',
        'app.kubernetes.io/name=obsdemo-operator',
      );
      const ready = pods.items.filter((p) => !p.metadata.deletionTimestamp && podReady(p)?.status === 'True');
      expect(ready).toHaveLength(2);
      const lease = await getJson<{ spec: { holderIdentity?: string } }>(
        'lease',
        '-n',
        OPERATOR_NS,
        'obsdemo-operator',
      );
      // The holder identity is `<pod name>_<random suffix>`, one per process start.
      expect(ready.map((p) => p.metadata.name)).toContain(lease.spec.holderIdentity?.split('_')[0]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'reports Ready only once every pod of the demo is Ready for real',
    async () => {
      const demo = await getJson<Demo>('observabilitydemo', '-n', NS, NAME);
      const readyCondition = condition(demo, 'Ready');
      expect(readyCondition?.status).toBe('True');
      const pods = (await getJson<{ items: Pod[] }>('pods', '-n', NS)).items.filter(
        (p) =>
          p.metadata.labels?.['obsdemo.dev/instance'] === NAME ||
          p.metadata.labels?.['app.kubernetes.io/instance'] === NAME,
      );
      expect(pods.length).toBeGreaterThanOrEqual(9);
      const notReady = pods.filter((p) => podReady(p)?.status !== 'True').map((p) => p.metadata.name);
      // What deleting the demo will do with each volume claim (retainOnDelete is false in the sample).
      const statefulSets = await getJson<{
        items: {
          metadata: { name: string };
          spec: { persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string } };
        }[];
      }>('statefulsets', '-n', NS);
      expect(
        Object.fromEntries(
          statefulSets.items.map((s) => [
            s.metadata.name,
            s.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted,
          ]),
        ),
      ).toEqual({
        [`${NAME}-nats`]: 'Delete',
        [`${NAME}-postgres`]: 'Delete',
        [`${NAME}-prometheus`]: 'Delete',
      });
      expect(notReady).toEqual([]);
      // The kubelet's readiness (the probes against /ready and the components' own) came first.
      const readySince = Date.parse(readyCondition?.lastTransitionTime ?? '');
      for (const pod of pods) {
        expect(Date.parse(podReady(pod)?.lastTransitionTime ?? '')).toBeLessThanOrEqual(readySince + 1000);
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'runs every project image under the chart securityContext: non-root, read-only root, no capabilities',
    async () => {
      const pods = [
        ...(await getJson<{ items: Pod[] }>('pods', '-n', NS)).items,
        ...(await getJson<{ items: Pod[] }>('pods', '-n', OPERATOR_NS)).items,
      ];
      const ours = pods.flatMap((p) =>
        p.spec.containers.filter((c) => c.image.startsWith('ghcr.io/obsdemo/')).map((c) => ({ pod: p, c })),
      );
      const images = new Set(ours.map(({ c }) => c.image.split(':')[0]?.split('/').pop()));
      expect([...images].sort()).toEqual([
        'catalog',
        'gateway',
        'invoices',
        'loadgen',
        'operator',
        'processor',
      ]);
      for (const { pod, c } of ours) {
        expect(podReady(pod)?.status).toBe('True');
        expect({ pod: pod.metadata.name, securityContext: c.securityContext }).toMatchObject({
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
        });
        expect(c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot).toBe(true);
      }
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'carries loadgen traffic through the gateway into every service-graph edge, and TelemetryVerified turns True',
    async () => {
      const prometheus = await portForward(`${NAME}-prometheus`, 9090);
      forwards.push(prometheus);
      const missing = async () => {
        const res = await fetch(
          `${prometheus.url}/api/v1/query?query=${encodeURIComponent('sum by (client, server, connection_type) (traces_service_graph_request_total)')}`,
        );
        const body = (await res.json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        const seen = new Set(
          body.data.result
            .filter((r) => Number(r.value[1]) > 0)
            .map((r) => `${r.metric.client}->${r.metric.server}/${r.metric.connection_type ?? ''}`),
        );
        return DEMO_SERVICE_GRAPH.map((e) => `${e.client}->${e.server}/${e.connectionType ?? ''}`).filter(
          (e) => !seen.has(e),
        );
      };
      await eventually(
        'every service-graph edge in the demo’s Prometheus',
        async () => ((await missing()).length === 0 ? true : undefined),
        600_000,
      ).catch(() => undefined);
      expect(await missing()).toEqual([]);
      const verified = await eventually(
        'TelemetryVerified=True',
        async () => {
          const c = condition(await getJson<Demo>('observabilitydemo', '-n', NS, NAME), 'TelemetryVerified');
          return c?.status === 'True' ? c : undefined;
        },
        600_000,
      );
      expect(verified.reason).toBeTruthy();
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'brings back a Deployment it owns after it is deleted',
    async () => {
      await kubectl('delete', 'deployment', '-n', NS, `${NAME}-processor`, '--wait=true');
      await eventually(
        'shop-processor recreated and Ready',
        async () => {
          const d = await getJson<{ status?: { readyReplicas?: number }; spec: { replicas: number } }>(
            'deployment',
            '-n',
            NS,
            `${NAME}-processor`,
          ).catch(() => undefined);
          return d !== undefined && (d.status?.readyReplicas ?? 0) >= d.spec.replicas ? true : undefined;
        },
        300_000,
      );
      await eventually(
        'the demo Ready again',
        async () =>
          condition(await getJson<Demo>('observabilitydemo', '-n', NS, NAME), 'Ready')?.status === 'True'
            ? true
            : undefined,
        300_000,
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'converges on a spec change made while the leader pod is killed',
    async () => {
      const lease = await getJson<{ spec: { holderIdentity?: string } }>(
        'lease',
        '-n',
        OPERATOR_NS,
        'obsdemo-operator',
      );
      const leader = lease.spec.holderIdentity?.split('_')[0] ?? '';
      expect(leader).not.toBe('');
      await kubectl(
        'patch',
        'observabilitydemo',
        '-n',
        NS,
        NAME,
        '--type',
        'merge',
        '-p',
        '{"spec":{"services":{"loadgen":{"requestsPerSecond":7}}}}',
      );
      await kubectl('delete', 'pod', '-n', OPERATOR_NS, leader, '--wait=false');
      const applied = await eventually(
        'LOADGEN_RPS=7 on the loadgen Deployment, observed by the new leader',
        async () => {
          const demo = await getJson<Demo>('observabilitydemo', '-n', NS, NAME);
          const deployment = await getJson<{
            spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
          }>('deployment', '-n', NS, `${NAME}-loadgen`);
          const env = deployment.spec.template.spec.containers[0]?.env ?? [];
          const rps = env.find((e) => e.name === 'LOADGEN_RPS')?.value;
          return rps === '7' && demo.status?.observedGeneration === demo.metadata.generation
            ? demo
            : undefined;
        },
        300_000,
      );
      expect(condition(applied, 'Ready')?.status).toBeDefined();
      const newLease = await getJson<{ spec: { holderIdentity?: string } }>(
        'lease',
        '-n',
        OPERATOR_NS,
        'obsdemo-operator',
      );
      expect(newLease.spec.holderIdentity?.split('_')[0]).not.toBe(leader);
    },
    STEP_TIMEOUT_MS,
  );

  /**
   * Places orders through the gateway, 4 at a time, and runs `fault` after the first 20; then waits until every
   * accepted order (HTTP 201) has exactly one invoice and nothing was parked. `settle` names the workload whose
   * rollout the read-back waits for.
   */
  async function burstSurvives(fault: () => Promise<void>, settle: string): Promise<void> {
    const gateway = await portForward(`${NAME}-gateway`, 8080);
    forwards.push(gateway);
    const accepted: number[] = [];
    const place = async (i: number) => {
      const res = await fetch(`${gateway.url}/api/v1/catalog/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer: 'kind-fault', items: [{ productId: (i % 12) + 1, quantity: 1 }] }),
      }).catch(() => undefined);
      // Anything but 201 (a 429 from the gateway's rate limit, a 503 while a dependency restarts) was not accepted.
      if (res?.status === 201) accepted.push(((await res.json()) as { id: number }).id);
      else await res?.body?.cancel();
    };
    const ORDERS = 80;
    const CONCURRENCY = 4;
    for (let i = 0; i < ORDERS; i += CONCURRENCY) {
      if (i === 20) await fault();
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => place(i + j)));
    }
    gateway.stop();
    // Enough before the fault to mean something even if every order during it was refused.
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    await kubectl('rollout', 'status', '-n', NS, settle, '--timeout=300s');
    // Read back from invoices itself: the checks below are more requests than the gateway's rate limit allows. A
    // port-forward to a Service sticks to one pod, so first wait until a single Ready invoices pod is left.
    await eventually(
      'one invoices pod, Ready',
      async () => {
        const pods = await getJson<{ items: Pod[] }>(
          'pods',
          '-n',
          NS,
          '-l',
          'app.kubernetes.io/name=invoices',
        );
        return pods.items.length === 1 && podReady(pods.items[0]!)?.status === 'True' ? true : undefined;
      },
      300_000,
    );
    const invoices = await portForward(`${NAME}-invoices`, 8002);
    forwards.push(invoices);
    const invoicesOf = async (orderId: number) => {
      const res = await fetch(`${invoices.url}/invoices?orderId=${orderId}`).catch(() => undefined);
      if (res === undefined || !res.ok) return undefined;
      return ((await res.json()) as { items: { orderId: number }[] }).items.length;
    };
    const counts = await eventually(
      `one invoice for each of the ${accepted.length} accepted orders`,
      async () => {
        const all = await Promise.all(accepted.map(async (id) => [id, await invoicesOf(id)] as const));
        return all.every(([, n]) => n === 1) ? all : undefined;
      },
      300_000,
    ).catch(async () => Promise.all(accepted.map(async (id) => [id, await invoicesOf(id)] as const)));
    expect(counts.filter(([, n]) => n !== 1)).toEqual([]);
    // A message handed back on shutdown must not come back over its delivery budget and be parked untried.
    const parked = await fetch(`${invoices.url}/invoices/parked`);
    expect(((await parked.json()) as { items: unknown[] }).items).toEqual([]);
    invoices.stop();
  }

  const deletePod = (name: string) => async () => {
    await kubectl('delete', 'pod', '-n', NS, '-l', `app.kubernetes.io/name=${name}`, '--wait=false');
  };

  it(
    'loses and doubles no invoice when the invoices pod is deleted during an order burst',
    async () => {
      await burstSurvives(deletePod('invoices'), `deployment/${NAME}-invoices`);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'invoices every accepted order exactly once when the NATS pod is deleted during an order burst',
    async () => {
      await burstSurvives(deletePod('nats'), `statefulset/${NAME}-nats`);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'invoices every accepted order exactly once when the Postgres pod is deleted during an order burst',
    async () => {
      await burstSurvives(deletePod('postgres'), `statefulset/${NAME}-postgres`);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'removes everything it created when the ObservabilityDemo is deleted, keeping only retained volumes',
    async () => {
      await kubectl('delete', 'observabilitydemo', '-n', NS, NAME, '--wait=true', '--timeout=300s');
      const left = await eventually(
        'the demo’s objects garbage-collected',
        async () => {
          const out = await kubectl(
            'get',
            'deployments,statefulsets,services,configmaps,secrets,networkpolicies,pods',
            '-n',
            NS,
            '-l',
            `obsdemo.dev/instance=${NAME}`,
            '-o',
            'name',
          );
          return out.trim() === '' ? out : undefined;
        },
        300_000,
      ).catch(async () =>
        kubectl(
          'get',
          'all,configmaps,secrets,networkpolicies',
          '-n',
          NS,
          '-l',
          `obsdemo.dev/instance=${NAME}`,
          '-o',
          'name',
        ),
      );
      expect(left.trim()).toBe('');
      // The sample keeps the default retainOnDelete: false, so no claim of the demo stays either: the StatefulSets'
      // claim retention policy deletes each claim once its StatefulSet is gone and its pod has stopped using it.
      const claimsLeft = () => kubectl('get', 'pvc', '-n', NS, '-o', 'name');
      const claims = await eventually(
        'the demo’s volume claims deleted',
        async () => ((await claimsLeft()).trim() === '' ? '' : undefined),
        300_000,
      ).catch(claimsLeft);
      expect(claims.trim()).toBe('');
    },
    STEP_TIMEOUT_MS,
  );
});
