// Preload entry: `node --import @obsdemo/telemetry/register dist/main.js`.
// ESM imports bypass require(), so instrumentations only see `express` or `node:http` when the
// import-in-the-middle loader hook is registered before the application's modules are loaded. The message
// channel lets the hook learn which modules instrumentations asked for before any app code runs.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

const { ConfigError } = await import('@obsdemo/base');
const { startTelemetry, telemetryOptionsFromEnv } = await import('./tracing.js');
try {
  startTelemetry(telemetryOptionsFromEnv());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
await waitForAllMessagesAcknowledged();
