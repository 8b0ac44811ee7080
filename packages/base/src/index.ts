export { ConfigError, env, loadConfig, parseConfig, type LoadConfigIo } from './config.js';
