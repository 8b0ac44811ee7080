import { runService } from '@obsdemo/service-kit';
import { ProcessorConfigSchema } from './config.js';
import { buildProcessor } from './wiring.js';

await runService({
  name: 'processor',
  schema: ProcessorConfigSchema,
  packageJson: new URL('../package.json', import.meta.url),
  address: (config) => ({ host: config.PROCESSOR_HOST, port: config.PROCESSOR_PORT }),
  start: async (config, context) => {
    const processor = await buildProcessor(config, context);
    return {
      app: processor.app,
      // Running jobs finish (or are handed back to the queue) before the pool they write to closes.
      closers: [
        { name: 'job-worker', close: () => processor.worker.stop() },
        { name: 'postgres-pool', close: () => processor.db.close() },
      ],
      run: () => processor.worker.start(),
    };
  },
});
