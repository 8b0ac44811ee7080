// The manager's reconciles are aborted on a timeout and on shutdown, against the real control plane: the helm
// they wait on (a stand-in that never finishes) is killed, nothing more is written for the demo but the Event that
// says so, and the metric counts it.
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
  deleteTestNamespace,
  eventually,
  freePort,
  kubeConfigFromEnv,
} from '@obsdemo/testenv';
import { API_VERSION, KIND, type DefaultedObservabilityDemo } from '../../src/api/index.js';
import { OperatorConfigSchema } from '../../src/config.js';
import type { ResourceClient } from '../../src/kube/resource-client.js';
import { startManager, type Manager } from '../../src/manager.js';
import { silentLogger } from '../../src/runtime/index.js';
import { setUpOperatorEnv } from './operator-env.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'obsdemo-abort-'));
const pidFile = join(work, 'helm.pids');
const slowHelm = join(work, 'helm');
writeFileSync(slowHelm, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec sleep 600\n`);
chmodSync(slowHelm, 0o755);

let kc: KubeConfig;
let admin: ResourceClient;
let ns: string;
let manager: Manager | undefined;
const registry = new Registry();

interface Event {
  reason: string;
  type: string;
  note: string;
  regarding: { name: string };
}

const helmPids = (): number[] => {
  try {
    return readFileSync(pidFile, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const events = () => admin.list<Event>({ apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: ns });
const metric = async (reason: string) => {
  const line = (await registry.metrics())
    .split('\n')
    .find(
      (l) => l.startsWith(`obsdemo_operator_reconcile_aborted_total{`) && l.includes(`reason="${reason}"`),
    );
  return Number(line?.split(' ').pop() ?? NaN);
};

beforeAll(async () => {
  kc = kubeConfigFromEnv();
  admin = (await setUpOperatorEnv(kc)).admin;
  ns = await createTestNamespace(kc, 'abort');
  const config = parseConfig(OperatorConfigSchema, {
    OPERATOR_HOST: '127.0.0.1',
    OPERATOR_PORT: String(await freePort()),
    WATCH_NAMESPACE: ns,
    POD_NAMESPACE: ns,
    POD_NAME: 'abort-test',
    LEADER_ELECT: 'true',
    HELM_BINARY: slowHelm,
    CHARTS_DIR: join(root, 'charts'),
    RECONCILE_TIMEOUT: '3s',
  });
  manager = await startManager(config, { kubeConfig: kc, logger: silentLogger, registry });
  await admin.apply(newDemo('slow'), 'obsdemo-test');
}, 120_000);

afterAll(async () => {
  await manager?.stop();
  for (const pid of helmPids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('aborting reconciles', () => {
  it('aborts a reconcile that outlives RECONCILE_TIMEOUT: helm killed, a Warning Event and the metric, nothing else written', async () => {
    const event = await eventually(
      'a ReconcileTimedOut Event',
      async () => (await events()).find((e) => e.reason === 'ReconcileTimedOut'),
      60_000,
    );
    expect(event).toMatchObject({ type: 'Warning', regarding: { name: 'slow' } });
    expect(event.note).toContain('RECONCILE_TIMEOUT (3000 ms)');
    expect(await metric('timeout')).toBeGreaterThanOrEqual(1);
    // The timed-out render's helm is gone (each retry starts one more, which the next timeout ends).
    const first = helmPids()[0];
    expect(first).toBeDefined();
    await eventually('the first helm to be killed', async () => (alive(first as number) ? undefined : true));
    // An aborted reconcile reports no failure: no RenderFailed, no status at all.
    const demo = await admin.get<DefaultedObservabilityDemo>({
      apiVersion: API_VERSION,
      kind: KIND,
      namespace: ns,
      name: 'slow',
    });
    expect(demo?.status).toBeUndefined();
    expect((await events()).map((e) => e.reason)).not.toContain('RenderFailed');
  });

  it('aborts the reconcile in flight on shutdown: helm killed, a Warning Event and the metric', async () => {
    // A retry is rendering: its helm runs.
    const pid = await eventually('a helm in flight', async () => helmPids().find(alive), 30_000);
    const before = await metric('shutdown');
    const stopping = manager?.stop();
    manager = undefined;
    await stopping;
    expect(alive(pid)).toBe(false);
    expect(await metric('shutdown')).toBe(before + 1);
    const aborted = (await events()).find((e) => e.reason === 'ReconcileAborted');
    expect(aborted).toMatchObject({ type: 'Warning', regarding: { name: 'slow' } });
    expect(aborted?.note).toContain('shutting down');
  });
});

/** A demo with the default spec (a plain object, as the API takes it). */
function newDemo(name: string) {
  const demo = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns }, spec: {} };
  return demo;
}
