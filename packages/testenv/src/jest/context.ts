import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

/** Set by the global setup: the admin kubeconfig of this run's control plane. */
export const ENV_KUBECONFIG = 'OBSDEMO_TEST_KUBECONFIG';
/** Set by the global setup: a JSON file with the control plane's directory, server and PIDs. */
export const ENV_STATE = 'OBSDEMO_TEST_CONTROL_PLANE_STATE';

/** A KubeConfig for the control plane of this integration run (admin identity). */
export function kubeConfigFromEnv(): KubeConfig {
  const path = process.env[ENV_KUBECONFIG];
  if (!path) {
    throw new Error(
      `${ENV_KUBECONFIG} is not set: run integration tests through the jest "integration" project`,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** Creates a namespace with a unique name for one test file, enforcing a PodSecurity level (restricted by default). */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  opts: { podSecurity?: PodSecurityLevel; labels?: Record<string, string> } = {},
): Promise<string> {
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  const level = opts.podSecurity ?? 'restricted';
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'obsdemo.dev/test': 'true',
          ...opts.labels,
        },
      },
    },
  });
  return name;
}

/** Deletes a test namespace without waiting for its finalization. */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
}

/** The same cluster and credentials, acting as another user (e.g. `system:serviceaccount:<ns>:<name>`). */
export function impersonate(kc: KubeConfig, user: string): KubeConfig {
  const current = kc.getCurrentUser();
  const cluster = kc.getCurrentCluster();
  if (current === null || cluster === null) throw new Error('kubeconfig has no current user or cluster');
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ ...current, name: 'impersonated', impersonateUser: user }],
    contexts: [{ name: 'impersonated', cluster: cluster.name, user: 'impersonated' }],
    currentContext: 'impersonated',
  });
  return out;
}

/** Polls until `check` returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `: ${last.message.split('\n')[0]}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
