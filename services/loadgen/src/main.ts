import { runService } from '@obsdemo/service-kit';
import { LoadgenConfigSchema } from './config.js';
import { formatMix } from './mix.js';
import { buildLoadgen } from './wiring.js';

await runService({
  name: 'loadgen',
  schema: LoadgenConfigSchema,
  packageJson: new URL('../package.json', import.meta.url),
  address: (config) => ({ host: config.LOADGEN_HOST, port: config.LOADGEN_PORT }),
  start: (config, context) => {
    const { logger } = context;
    const loadgen = buildLoadgen(config, context);
    return {
      app: loadgen.app,
      closers: [
        {
          name: 'scheduler',
          close: async () => {
            const drained = await loadgen.scheduler.drain(config.SHUTDOWN_DRAIN_MS);
            if (!drained)
              logger.warn('requests still in flight at the drain deadline', {
                inFlight: loadgen.scheduler.inFlight,
              });
          },
        },
      ],
      // Scheduling stops on the signal itself, before the HTTP server drains, so no new request starts.
      onSignal: () => loadgen.scheduler.stop(),
      listening: {
        target: config.LOADGEN_TARGET_URL,
        rps: config.LOADGEN_RPS,
        mix: formatMix(config.LOADGEN_MIX),
      },
      onListening: () => loadgen.scheduler.start(),
    };
  },
});
