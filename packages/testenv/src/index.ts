export {
  ControlPlane,
  defaultBinDir,
  type ControlPlaneOptions,
  type ControlPlaneState,
} from './controlplane/control-plane.js';
export { kubeRequest, loadTls, type ClientTls } from './controlplane/kube-http.js';
export {
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  impersonate,
  kubeConfigFromEnv,
  ENV_KUBECONFIG,
  ENV_STATE,
  type PodSecurityLevel,
} from './jest/context.js';
export {
  ManagedProcess,
  ProcessStartError,
  waitUntilReady,
  tailOfFile,
  type ProcessSpec,
} from './process/managed-process.js';
export { freePort, freePorts } from './process/ports.js';
export * from './dataplane/index.js';
export * from './observability/index.js';
