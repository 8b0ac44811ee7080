import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane, type ControlPlaneState } from './controlplane/control-plane.js';

/** `make cluster-up` / `make cluster-down`: a detached local control plane for a person. */
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

const command = process.argv[2];
const actions: Record<string, () => Promise<void>> = { up, down };
const action = command === undefined ? undefined : actions[command];
if (!action) {
  console.error('usage: cli.js up|down');
  process.exit(2);
}
action().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
