import { createLogger, currentTelemetry } from '@obsdemo/telemetry';
import { createShutdown, loadConfig } from '@obsdemo/service-kit';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { GatewayConfigSchema } from './config.js';
import { buildGateway } from './wiring.js';

const config = loadConfig(GatewayConfigSchema);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const server = createServer();
const shutdown = createShutdown({
  server,
  logger,
  drainTimeoutMs: config.SHUTDOWN_DRAIN_MS,
  flushTelemetry: async () => currentTelemetry()?.shutdown(),
});
shutdown.installSignalHandlers();

const gateway = await buildGateway(config, { version, logger, isShuttingDown: shutdown.isShuttingDown });
shutdown.register({ name: 'upstreams', close: () => gateway.close() });
server.on('request', gateway.app);
server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
  logger.info('gateway listening', {
    host: config.GATEWAY_HOST,
    port: config.GATEWAY_PORT,
    version,
    authMode: config.AUTH_MODE,
  });
});
