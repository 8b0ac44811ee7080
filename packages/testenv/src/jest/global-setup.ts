import { writeFile } from 'node:fs/promises';
import { ControlPlane } from '../controlplane/control-plane.js';
import { ENV_KUBECONFIG, ENV_STATE } from './context.js';

/**
 * One control plane per integration run. Jest runs this in its parent process; the workers it forks later inherit
 * the environment set here. The instance is kept on globalThis for the teardown, which runs in the same process.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const cp = await ControlPlane.start();
  (globalThis as { __obsdemoControlPlane?: ControlPlane }).__obsdemoControlPlane = cp;
  process.env[ENV_KUBECONFIG] = cp.kubeconfig;
  process.env[ENV_STATE] = `${cp.dir}/state.json`;
  await writeFile(process.env[ENV_STATE], JSON.stringify(cp.state()));
  process.stdout.write(
    `\nlocal control plane ready in ${Date.now() - started} ms at ${cp.server} (${cp.dir})\n`,
  );
}
