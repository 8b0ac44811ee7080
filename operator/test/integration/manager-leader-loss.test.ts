// Two operator replicas on the real control plane; the leader reaches the apiserver through a proxy that records
// every request. Once the proxy holds the leader's Lease renewals unanswered, the leader must stop writing by the
// renew deadline (counted from its last renewal), before the standby may take the Lease, abort what it has in
// flight, and the standby must take over and reconcile. Short timings (8s/4s/3s) keep it quick; the algorithm is
// the one that runs with 15s/10s/2s.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { parseConfig } from '@obsdemo/base';
import {
  createTestNamespace,
  defaultBinDir,
  deleteTestNamespace,
  eventually,
  freePort,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';
import { API_VERSION, KIND } from '../../src/api/index.js';
import { OperatorConfigSchema } from '../../src/config.js';
import type { ResourceClient } from '../../src/kube/resource-client.js';
import { startManager, type Manager } from '../../src/manager.js';
import type { Lease } from '../../src/runtime/leader-election.js';
import { silentLogger } from '../../src/runtime/index.js';
import { RecordingProxy, isLeaseWrite, isWrite } from './http-proxy.js';
import { setUpOperatorEnv } from './operator-env.js';

const LEASE_DURATION_MS = 8_000;
const RENEW_DEADLINE_MS = 4_000;
/**
 * The renew loop gives up retryPeriod + renewDeadline after its last success; the write fence closes renewDeadline
 * after that success began. A long retry period keeps the two 3 s apart, so a leader that only stopped when the loop
 * gave up would be seen writing past the bound below.
 */
const RETRY_PERIOD_MS = 3_000;
/**
 * Time for a write the leader began just before its deadline to reach the proxy on this machine's loopback. The
 * margin that makes the protocol safe is LEASE_DURATION_MS - RENEW_DEADLINE_MS (4 s); this is well inside it.
 */
const TRANSIT_MS = 1_000;

const root = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'obsdemo-leader-loss-'));
const pidFile = join(work, 'helm.pids');
// The real helm, except for the release "slow", whose render never finishes: a reconcile in flight at the loss.
const helm = join(work, 'helm');
writeFileSync(
  helm,
  `#!/bin/sh\ncase "$2" in slow) echo $$ >> '${pidFile}'; exec sleep 600;; esac\nexec '${join(defaultBinDir(), 'helm')}' "$@"\n`,
);
chmodSync(helm, 0o755);

let kc: KubeConfig;
let admin: ResourceClient;
let ns: string;
let proxy: RecordingProxy;
const managers: Manager[] = [];
const registryA = new Registry();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const slowHelms = (): number[] => {
  try {
    return readFileSync(pidFile, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const lease = () =>
  admin.get<Lease>({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: ns,
    name: 'obsdemo-operator',
  });
const catalogReplicas = async () =>
  (
    await admin.get<{ spec: { replicas: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'fast-catalog',
    })
  )?.spec.replicas;

async function replica(name: string, kubeConfig: KubeConfig, registry: Registry): Promise<Manager> {
  const config = parseConfig(OperatorConfigSchema, {
    OPERATOR_HOST: '127.0.0.1',
    OPERATOR_PORT: String(await freePort()),
    WATCH_NAMESPACE: ns,
    POD_NAMESPACE: ns,
    POD_NAME: name,
    LEADER_ELECT: 'true',
    LEADER_ELECTION_LEASE_DURATION: `${LEASE_DURATION_MS}ms`,
    LEADER_ELECTION_RENEW_DEADLINE: `${RENEW_DEADLINE_MS}ms`,
    LEADER_ELECTION_RETRY_PERIOD: `${RETRY_PERIOD_MS}ms`,
    HELM_BINARY: helm,
    CHARTS_DIR: join(root, 'charts'),
  });
  const manager = await startManager(config, { kubeConfig, logger: silentLogger, registry });
  managers.push(manager);
  return manager;
}

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  admin = (await setUpOperatorEnv(kc)).admin;
  ns = await createTestNamespace(kc, 'leader-loss');
  proxy = await new RecordingProxy(kc).listen();
}, 120_000);

afterAll(async () => {
  if (proxy) proxy.holdLeaseWrites = false;
  await Promise.all(managers.map((m) => m.stop()));
  await proxy?.close();
  for (const pid of slowHelms()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('losing the leader Lease', () => {
  it('stops every write of the old leader by its renew deadline, before the standby takes over and reconciles', async () => {
    const a = await replica('replica-a', proxy.kubeConfig(), registryA);
    await eventually('replica-a to lead', async () =>
      (await lease())?.spec?.holderIdentity === a.identity ? true : undefined,
    );
    for (const name of ['fast', 'slow']) await admin.apply(newDemo(name), 'obsdemo-test');
    await eventually(
      'replica-a to apply the fast demo',
      async () => ((await catalogReplicas()) === 1 ? true : undefined),
      60_000,
    );
    const slowPid = await eventually(
      'the slow render to be in flight',
      async () => slowHelms().find(alive),
      60_000,
    );
    const b = await replica('replica-b', kc, new Registry());

    // Someone keeps scaling the fast demo's catalog: each change is drift the leader writes back.
    let replicas = 2;
    const churn = setInterval(() => {
      replicas = replicas === 2 ? 3 : 2;
      void admin
        .request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/fast-catalog/scale`, {
          body: { spec: { replicas } },
          contentType: 'application/merge-patch+json',
        })
        .catch(() => undefined);
    }, 300);
    try {
      const churnFrom = Date.now();
      const restoring = (r: { method: string; path: string; at: number }) =>
        r.method === 'PATCH' && r.path.includes('/deployments/fast-catalog') && r.at >= churnFrom;
      await eventually('replica-a to restore the scaled catalog', async () =>
        proxy.seen.some(restoring) ? true : undefined,
      );

      const dropFrom = Date.now();
      proxy.holdLeaseWrites = true;
      const taken = await eventually(
        'replica-b to take the Lease',
        async () => {
          const l = await lease();
          return l?.spec?.holderIdentity === b.identity ? l : undefined;
        },
        30_000,
      );
      // A while longer under churn: the old leader, still running and still seeing the drift, writes nothing.
      await new Promise((resolve) => setTimeout(resolve, 2_000));

      const lastRenewal = Math.max(...proxy.seen.filter((r) => isLeaseWrite(r) && !r.held).map((r) => r.at));
      expect(lastRenewal).toBeLessThanOrEqual(dropFrom);
      const writesA = proxy.seen.filter((r) => isWrite(r) && !isLeaseWrite(r));
      // It was writing after the renewals stopped getting through, so its stop is what is observed here.
      expect(writesA.filter((r) => r.at > dropFrom).length).toBeGreaterThan(0);
      const lastWrite = Math.max(...writesA.map((r) => r.at));
      expect(lastWrite).toBeLessThan(lastRenewal + RENEW_DEADLINE_MS + TRANSIT_MS);
      const takenAt = Date.parse(taken.spec?.acquireTime ?? '');
      expect(takenAt).toBeGreaterThanOrEqual(lastRenewal + LEASE_DURATION_MS);
      expect(lastWrite).toBeLessThan(takenAt);

      // The slow reconcile in flight was aborted for the lost leadership: its helm killed, counted, no Event.
      expect(alive(slowPid)).toBe(false);
      const aborted = (await registryA.metrics())
        .split('\n')
        .find(
          (l) => l.startsWith('obsdemo_operator_reconcile_aborted_total{') && l.includes('leadership_lost'),
        );
      expect(Number(aborted?.split(' ').pop())).toBeGreaterThanOrEqual(1);
      const events = await admin.list<{ reason: string }>({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        namespace: ns,
      });
      expect(events.map((e) => e.reason)).not.toContain('ReconcileAborted');
    } finally {
      clearInterval(churn);
    }
    // The new leader restores the catalog.
    await eventually(
      'replica-b to restore the catalog',
      async () => ((await catalogReplicas()) === 1 ? true : undefined),
      30_000,
    );
  });
});

/** A demo with the default spec (a plain object, as the API takes it). */
function newDemo(name: string) {
  const demo = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns }, spec: {} };
  return demo;
}
