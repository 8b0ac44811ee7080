import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane, type ControlPlaneState } from './controlplane/control-plane.js';
import { startEmbeddedDemo, type EmbeddedDemo } from './demo/embedded.js';
import { formatSummary, trafficSummary } from './demo/summary.js';
import { eventually } from './jest/context.js';

/**
 * `make cluster-up` / `make cluster-down`: a detached local control plane for a person.
 * `make demo` (without Docker) / `make demo-down`: the embedded demo in the foreground, stopped by Ctrl-C or demo-down.
 */
const stateDir =
  process.env.OBSDEMO_CLUSTER_DIR ?? fileURLToPath(new URL('../../../.tmp/cluster/', import.meta.url));
const stateFile = join(stateDir, 'state.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): ControlPlaneState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState;
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && Object.values(existing.pids).every(alive)) {
    console.log(`local control plane already running at ${existing.server}`);
    console.log(`export KUBECONFIG=${existing.kubeconfig}`);
    return;
  }
  if (existing) await down();
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const started = Date.now();
  const cp = await ControlPlane.start({ dir: stateDir, detached: true });
  await writeFile(stateFile, JSON.stringify(cp.state(), null, 2));
  console.log(`local control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.server}`);
  console.log(`logs: ${join(stateDir, 'logs')}`);
  console.log(`export KUBECONFIG=${cp.kubeconfig}`);
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    console.log('no local control plane is running');
    return;
  }
  // Newest component first, as in ControlPlane.stop().
  const order = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  for (const name of order) {
    const pid = state.pids[name];
    if (pid === undefined || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(stateDir, { recursive: true, force: true });
  console.log('local control plane stopped');
}

const demoDir =
  process.env.OBSDEMO_DEMO_DIR ?? fileURLToPath(new URL('../../../.tmp/demo/', import.meta.url));
const demoPidFile = join(demoDir, 'demo.pid');
const SUMMARY_EVERY_MS = 15_000;

function runningDemoPid(): number | undefined {
  if (!existsSync(demoPidFile)) return undefined;
  const pid = Number(readFileSync(demoPidFile, 'utf8'));
  return Number.isInteger(pid) && alive(pid) ? pid : undefined;
}

async function demo(): Promise<void> {
  const running = runningDemoPid();
  if (running !== undefined) {
    throw new Error(`the embedded demo is already running (pid ${running}): make demo-down stops it`);
  }
  await rm(demoDir, { recursive: true, force: true });
  await mkdir(demoDir, { recursive: true });
  await writeFile(demoPidFile, String(process.pid));
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  // Set once the demo is up. A signal before that aborts the start, whose own cleanup stops what it started.
  const current: { demo?: EmbeddedDemo } = {};
  const starting = new AbortController();
  let stopping = false;
  const stopAll = async () => {
    await current.demo?.stop();
    await rm(demoPidFile, { force: true });
  };
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the demo (every process it started)`);
    if (current.demo === undefined) {
      starting.abort(new Error(`${signal} while starting`));
      return;
    }
    await stopAll();
    console.log(`demo stopped; logs stay in ${demoDir}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let instance: EmbeddedDemo;
  try {
    instance = await startEmbeddedDemo({
      dir: demoDir,
      signal: starting.signal,
      log: (line) => console.log(`[${elapsed()}] ${line}`),
    });
  } catch (error) {
    await rm(demoPidFile, { force: true });
    if (stopping) {
      console.log(`demo stopped while starting; logs stay in ${demoDir}`);
      process.exit(0);
    }
    throw error;
  }
  current.demo = instance;
  const { prometheus } = instance;
  console.log(`[${elapsed()}] waiting until traffic flows and the Collector draws the service graph`);
  try {
    await eventually(
      'gateway traffic and service-graph edges in Prometheus',
      async () => {
        const summary = await trafficSummary(prometheus);
        return summary.gatewayRps > 0 && summary.edges.length > 0 ? summary : undefined;
      },
      300_000,
    );
  } catch (error) {
    if (stopping) return;
    stopping = true;
    await stopAll();
    throw error;
  }
  const gateway = instance.services.get('gateway');
  console.log(`
The demo is running (${elapsed()}):
  gateway      ${gateway?.url ?? '(not enabled)'}   e.g. curl ${gateway?.url ?? ''}/api/v1/catalog/products
  Prometheus   ${prometheus.url}   (service graph: traces_service_graph_request_total)
  traces       ${tracesLine(instance)}
  cluster      export KUBECONFIG=${instance.kubeconfig}; kubectl get od -n ${instance.namespace}
  logs         ${join(demoDir, 'logs')} (services, operator) and ${join(demoDir, 'cluster', 'logs')} (control plane)
Grafana has no local build on this machine; its dashboards read this Prometheus (see docs/quickstart.md).
Ctrl-C or \`make demo-down\` stops everything.
`);
  for (;;) {
    if (stopping) return;
    try {
      // A CR edit (e.g. kubectl apply -f manifests/samples/fault-scenario.yaml) reaches the processes as a rollout.
      const restarted = await instance.syncServices();
      if (restarted.length > 0)
        console.log(`[${elapsed()}] restarted with their new configuration: ${restarted.join(', ')}`);
      console.log(`[${elapsed()}] ${formatSummary(await trafficSummary(prometheus))}`);
    } catch (error) {
      console.log(
        `[${elapsed()}] summary unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, SUMMARY_EVERY_MS));
  }
}

/** Where to look for traces: Jaeger's API (its UI assets are not part of its Go module, so a local build has none). */
function tracesLine(instance: EmbeddedDemo): string {
  if (instance.jaeger === undefined) return '(no trace store: spec.observability.tracing.backend is none)';
  const api = instance.jaeger.queryUrl;
  return `Jaeger ${api}/api/v3/traces/<trace id>, ${api}/api/v3/services (the UI needs the official jaegertracing/jaeger image; a local build serves a placeholder page)`;
}

async function demoDown(): Promise<void> {
  const pid = runningDemoPid();
  if (pid === undefined) {
    console.log('no embedded demo is running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; alive(pid) && waited < 60_000; waited += 200)
    await new Promise((r) => setTimeout(r, 200));
  // Its children die with it (parent-death signal), so a stuck demo leaves nothing behind either.
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  console.log('embedded demo stopped');
}

const command = process.argv[2];
const actions: Record<string, () => Promise<void>> = { up, down, demo, 'demo-down': demoDown };
const action = command === undefined ? undefined : actions[command];
if (!action) {
  console.error('usage: cli.js up|down|demo|demo-down');
  process.exit(2);
}
action().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
