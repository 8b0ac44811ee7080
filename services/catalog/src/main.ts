import { createLogger, currentTelemetry } from '@obsdemo/telemetry';
import { createShutdown, loadConfig } from '@obsdemo/service-kit';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { CatalogConfigSchema } from './config.js';
import { buildCatalog } from './wiring.js';

const config = loadConfig(CatalogConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'catalog', level: config.LOG_LEVEL });
const server = createServer();
const shutdown = createShutdown({
  server,
  logger,
  drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
  flushTelemetry: async () => currentTelemetry()?.shutdown(),
});
shutdown.installSignalHandlers();

const catalog = await buildCatalog(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
shutdown.register({ name: 'outbox-relay', close: () => catalog.relay.stop() });
shutdown.register({ name: 'cache-invalidation', close: () => catalog.invalidations.stop() });
shutdown.register({ name: 'postgres-pool', close: () => catalog.db.close() });
catalog.relay.start();
catalog.invalidations.start();
server.on('request', catalog.app);
server.listen(config.CATALOG_PORT, config.CATALOG_HOST, () => {
  logger.info('catalog listening', { host: config.CATALOG_HOST, port: config.CATALOG_PORT, version });
});
