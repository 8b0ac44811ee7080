import { readFileSync } from 'node:fs';
import { KubeConfig } from './runtime/kubeconfig.js';
import { loadConfig } from '@obsdemo/base';
import { createLogger, createRegistry, currentTelemetry } from '@obsdemo/telemetry';
import { OperatorConfigSchema } from './config.js';
import { startManager } from './manager.js';

const config = loadConfig(OperatorConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'obsdemo-operator', level: config.LOG_LEVEL });
const kubeConfig = new KubeConfig();
// In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config (`make run`).
kubeConfig.loadFromDefault();

// A manager that cannot start (no cluster at the configured address, a kubeconfig it cannot use) ends the process
// with one readable line, not a stack: it is a setup problem, and a pod restarts it anyway.
const manager = await startManager(config, {
  kubeConfig,
  logger,
  registry: createRegistry('obsdemo-operator'),
}).catch((error: unknown) => {
  const cluster = kubeConfig.getCurrentCluster()?.server ?? 'no cluster configured';
  logger.error('cannot start', { cluster, error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
logger.info('obsdemo-operator running', { version });

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('stopping', { signal });
  await manager.stop();
  await currentTelemetry()?.shutdown();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
