import type { RequestHandler } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import { env } from '@obsdemo/base';
import { InjectedFaultError } from './errors.js';

/**
 * The env every service reads for demo fault injection (the operator sets them from the CR's `spec.faults`);
 * spread into a service's config schema.
 */
export const FAULT_ENV = {
  FAULT_LATENCY_MS: env.int(0, 0, 60_000),
  FAULT_LATENCY_PERCENT: env.int(0, 0, 100),
  FAULT_ERROR_PERCENT: env.int(0, 0, 100),
};

export interface FaultEnv {
  FAULT_LATENCY_MS: number;
  FAULT_LATENCY_PERCENT: number;
  FAULT_ERROR_PERCENT: number;
}

/** Percentages are 0-100. */
export interface FaultConfig {
  latencyMs: number;
  latencyPercent: number;
  errorPercent: number;
}

export interface FaultDecision {
  delayMs: number;
  fail: boolean;
}

export function faultConfig(cfg: FaultEnv): FaultConfig {
  return {
    latencyMs: cfg.FAULT_LATENCY_MS,
    latencyPercent: cfg.FAULT_LATENCY_PERCENT,
    errorPercent: cfg.FAULT_ERROR_PERCENT,
  };
}

/** Pure so tests can pass their own random source. */
export function decideFault(config: FaultConfig, random: () => number = Math.random): FaultDecision {
  const delayMs = config.latencyMs > 0 && random() * 100 < config.latencyPercent ? config.latencyMs : 0;
  const fail = random() * 100 < config.errorPercent;
  return { delayMs, fail };
}

/**
 * Demo-scenario latency, then optionally a failure answered by the error middleware. Mount it after the ops
 * endpoints so probes and scrapes keep telling the truth while the API misbehaves.
 */
export function faultInjection(
  config: FaultConfig,
  random: () => number = Math.random,
  sleep: (ms: number) => Promise<unknown> = delay,
): RequestHandler {
  const enabled = (config.latencyMs > 0 && config.latencyPercent > 0) || config.errorPercent > 0;
  return async (_req, _res, next) => {
    if (!enabled) {
      next();
      return;
    }
    const decision = decideFault(config, random);
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    next(decision.fail ? new InjectedFaultError() : undefined);
  };
}
