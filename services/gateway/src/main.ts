import { runService } from '@obsdemo/service-kit';
import { GatewayConfigSchema } from './config.js';
import { buildGateway } from './wiring.js';

await runService({
  name: 'gateway',
  schema: GatewayConfigSchema,
  packageJson: new URL('../package.json', import.meta.url),
  address: (config) => ({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT }),
  start: async (config, context) => {
    const gateway = await buildGateway(config, context);
    return {
      app: gateway.app,
      closers: [{ name: 'upstreams', close: () => gateway.close() }],
      listening: { authMode: config.AUTH_MODE },
    };
  },
});
