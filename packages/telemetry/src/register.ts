// Preload entry: `node --import @obsdemo/telemetry/register dist/main.js`.
// ESM imports bypass require(), so instrumentations only see `node:http` or `pg` when the import-in-the-middle
// loader hook is registered before the application's modules are loaded.
//
// Where Node.js can run it (>= 24.11.1 here), the hook is synchronous and runs on the application's own thread
// (`module.registerHooks`), limited to the modules the instrumentations patch. The asynchronous loader
// (`module.register`) keeps a second thread with its own V8 isolate alive for the life of the process (about
// 35 MB more peak resident memory for catalog under load, docs/benchmarks.md) and learns the modules over a
// message channel instead.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';

/** What defaultInstrumentations() patches through the loader (undici's instrumentation uses diagnostics_channel). */
const INSTRUMENTED_MODULES = ['http', 'https', 'pg', 'pg-pool'];

let acknowledged = async () => undefined as unknown;
if (supportsSyncHooks()) {
  registerSyncHooks({ include: INSTRUMENTED_MODULES });
} else {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  acknowledged = waitForAllMessagesAcknowledged;
}

const { ConfigError } = await import('@obsdemo/base');
const { startTelemetry, telemetryOptionsFromEnv } = await import('./tracing.js');
try {
  startTelemetry(telemetryOptionsFromEnv());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
await acknowledged();
