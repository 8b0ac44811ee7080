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
export {
  buildServices,
  closedComponents,
  runServiceToExit,
  SHUTDOWN_COMPLETE_EXIT_0,
  type StartupOutcome,
} from './process/service-cli.js';
export { pollUntil } from './process/poll.js';
export {
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedLog,
  type ReceivedSpan,
} from './otlp-receiver.js';
export * from './dataplane/index.js';
export * from './observability/index.js';
