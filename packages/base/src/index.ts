export { ConfigError, env, loadConfig, parseConfig, type LoadConfigIo } from './config.js';
export {
  Backoff,
  backoffCeiling,
  backoffDelay,
  jitter,
  sleep,
  type BackoffOptions,
  type BackoffPolicy,
} from './backoff.js';
