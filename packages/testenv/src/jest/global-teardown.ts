import type { ControlPlane } from '../controlplane/control-plane.js';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { __obsdemoControlPlane?: ControlPlane };
  await holder.__obsdemoControlPlane?.stop();
  delete holder.__obsdemoControlPlane;
}
