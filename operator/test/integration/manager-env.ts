// Shared setup of the manager's integration tests: a manager on the real control plane with leader election on,
// watching and leading in one test namespace, with the real helm and the repository's charts unless overridden.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { defaultBinDir, freePort } from '@obsdemo/testenv';
import { OperatorConfigSchema } from '../../src/config.js';
import { startManager, type Manager } from '../../src/manager.js';
import { silentLogger, type RuntimeLogger } from '../../src/runtime/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface TestManagerOptions {
  /** The namespace it watches and holds its Lease in. */
  namespace: string;
  kubeConfig: KubeConfig;
  /** Environment variables on top of the defaults (e.g. POD_NAME, LEADER_ELECTION_*, HELM_BINARY). */
  env?: Record<string, string>;
  logger?: RuntimeLogger;
  registry?: Registry;
}

export async function startTestManager(options: TestManagerOptions): Promise<Manager> {
  const config = OperatorConfigSchema.parse({
    OPERATOR_HOST: '127.0.0.1',
    OPERATOR_PORT: String(await freePort()),
    WATCH_NAMESPACE: options.namespace,
    POD_NAMESPACE: options.namespace,
    LEADER_ELECT: 'true',
    HELM_BINARY: join(defaultBinDir(), 'helm'),
    CHARTS_DIR: join(root, 'charts'),
    ...options.env,
  });
  return startManager(config, {
    kubeConfig: options.kubeConfig,
    logger: options.logger ?? silentLogger,
    registry: options.registry ?? new Registry(),
  });
}
