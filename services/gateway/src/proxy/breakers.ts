import type { Logger } from '@obsdemo/telemetry';
import CircuitBreaker from 'opossum';
import type { IncomingMessage } from 'node:http';
import type { OpenMetricsContentType, Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { UpstreamName } from '../routing.js';
import { ClientSideError } from './errors.js';

export type Attempt = () => Promise<IncomingMessage>;
export type Breaker = CircuitBreaker<[Attempt], IncomingMessage>;

export type BreakerState = 'closed' | 'half_open' | 'open';

/** The value of `gateway_circuit_state`: ordered by how much traffic gets through. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export function breakerState(breaker: Pick<Breaker, 'opened' | 'halfOpen'>): BreakerState {
  if (breaker.halfOpen) return 'half_open';
  return breaker.opened ? 'open' : 'closed';
}

export interface BreakerSettings {
  errorThresholdPercentage: number;
  volumeThreshold: number;
  rollingCountTimeout: number;
  resetTimeout: number;
}

/**
 * One opossum breaker per upstream. Its action is the attempt itself, so the breaker sees exactly one call per
 * proxied request. opossum's own timeout is off: the forwarder enforces connect and response timeouts and
 * cancels the request, which opossum's timer could not do. Client-side errors (413, client gone) are filtered
 * so they never count against the upstream; 5xx answers, timeouts and refused connections do. (opossum counts a
 * filtered error as a success, so a half-open probe cut short by its client closes the breaker; the next real
 * failures open it again.)
 */
export function createBreakers(
  upstreams: readonly UpstreamName[],
  settings: BreakerSettings,
  registry: Registry<OpenMetricsContentType>,
  logger: Logger,
): Record<UpstreamName, Breaker> {
  const breakers = {} as Record<UpstreamName, Breaker>;
  const transitions = new Counter({
    name: 'gateway_circuit_transitions_total',
    help: 'Circuit breaker state changes by upstream and new state.',
    labelNames: ['upstream', 'to'],
    registers: [registry],
  });
  new Gauge({
    name: 'gateway_circuit_state',
    help: 'Circuit breaker state by upstream: 0 closed, 1 half-open, 2 open.',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      for (const [upstream, breaker] of Object.entries(breakers)) {
        this.set({ upstream }, BREAKER_STATE_VALUE[breakerState(breaker)]);
      }
    },
  });
  for (const upstream of upstreams) {
    const breaker: Breaker = new CircuitBreaker((attempt: Attempt) => attempt(), {
      name: upstream,
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.rollingCountTimeout,
      resetTimeout: settings.resetTimeout,
      errorFilter: (error: unknown) => error instanceof ClientSideError,
    });
    const changedTo = (to: BreakerState) => () => {
      transitions.inc({ upstream, to });
      const log = to === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log('circuit breaker state changed', { upstream, state: to });
    };
    breaker.on('open', changedTo('open'));
    breaker.on('halfOpen', changedTo('half_open'));
    breaker.on('close', changedTo('closed'));
    for (const to of ['closed', 'half_open', 'open'] as const) transitions.inc({ upstream, to }, 0);
    breakers[upstream] = breaker;
  }
  return breakers;
}
