import type { RequestHandler } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import { InjectedFaultError } from '../domain/errors.js';
import { decideFault, type FaultConfig } from '../domain/faults.js';

/** Demo-scenario latency and failures on API routes; ops endpoints stay untouched so probes keep telling the truth. */
export function faultInjection(config: FaultConfig, random: () => number = Math.random): RequestHandler {
  const enabled = config.latencyPercent > 0 || config.errorPercent > 0;
  return async (_req, _res, next) => {
    if (!enabled) {
      next();
      return;
    }
    const decision = decideFault(config, random);
    if (decision.delayMs > 0) await delay(decision.delayMs);
    next(decision.fail ? new InjectedFaultError('injected failure (FAULT_ERROR_PERCENT)') : undefined);
  };
}
