import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig } from '@obsdemo/base';
import { OperatorConfigSchema } from '../../src/config.js';

describe('OperatorConfigSchema', () => {
  it('reads the operator pod labels the chart sets, and none outside a pod', () => {
    const config = parseConfig(OperatorConfigSchema, {
      OPERATOR_POD_LABELS: 'app.kubernetes.io/name=obsdemo-operator,app.kubernetes.io/instance=ops',
    });
    expect(config.OPERATOR_POD_LABELS).toEqual({
      'app.kubernetes.io/name': 'obsdemo-operator',
      'app.kubernetes.io/instance': 'ops',
    });
    expect(parseConfig(OperatorConfigSchema, {}).OPERATOR_POD_LABELS).toEqual({});
  });

  it('refuses labels that are not name=value pairs in one line naming the variable and the part', () => {
    const run = () => parseConfig(OperatorConfigSchema, { OPERATOR_POD_LABELS: 'app=ops,tier' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/^config error: OPERATOR_POD_LABELS must be valid: "tier" is not a name=value label/);
    expect(run).not.toThrow(/\n/);
  });

  it('reads RECONCILE_TIMEOUT as a duration, 2m by default, and refuses zero or a bare number in one line', () => {
    expect(parseConfig(OperatorConfigSchema, {}).RECONCILE_TIMEOUT).toBe(120_000);
    expect(parseConfig(OperatorConfigSchema, { RECONCILE_TIMEOUT: '45s' }).RECONCILE_TIMEOUT).toBe(45_000);
    for (const bad of ['0s', '90']) {
      const run = () => parseConfig(OperatorConfigSchema, { RECONCILE_TIMEOUT: bad });
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(/^config error: RECONCILE_TIMEOUT/);
      expect(run).not.toThrow(/\n/);
    }
  });

  it('reads the leader election timings, 15s/10s/2s by default, and refuses a leader that could outlive its Lease', () => {
    const defaults = parseConfig(OperatorConfigSchema, {});
    expect([
      defaults.LEADER_ELECTION_LEASE_DURATION,
      defaults.LEADER_ELECTION_RENEW_DEADLINE,
      defaults.LEADER_ELECTION_RETRY_PERIOD,
    ]).toEqual([15_000, 10_000, 2_000]);
    const run = () =>
      parseConfig(OperatorConfigSchema, {
        LEADER_ELECTION_LEASE_DURATION: '10s',
        LEADER_ELECTION_RENEW_DEADLINE: '10s',
      });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      /^config error: LEADER_ELECTION_LEASE_DURATION must be valid: must be longer than LEADER_ELECTION_RENEW_DEADLINE/,
    );
    expect(() =>
      parseConfig(OperatorConfigSchema, {
        LEADER_ELECTION_RENEW_DEADLINE: '2s',
        LEADER_ELECTION_RETRY_PERIOD: '2s',
      }),
    ).toThrow(
      /LEADER_ELECTION_RENEW_DEADLINE must be valid: must be longer than 1.2 × LEADER_ELECTION_RETRY_PERIOD/,
    );
  });

  it('reads the chart-wide component defaults as JSON, and none when unset', () => {
    const defaults = { postgres: { image: { repository: 'mirror/postgres' } } };
    expect(
      parseConfig(OperatorConfigSchema, { COMPONENT_DEFAULTS: JSON.stringify(defaults) }).COMPONENT_DEFAULTS,
    ).toEqual(defaults);
    expect(parseConfig(OperatorConfigSchema, {}).COMPONENT_DEFAULTS).toEqual({});
  });

  it.each([
    ['{', 'is not JSON'],
    ['[]', 'must be an object of chart name → values'],
    ['{"redis": {}}', 'names "redis", which is not one of nats, postgres'],
    ['{"nats": 3}', '"nats" must map to an object of chart values'],
  ])('refuses COMPONENT_DEFAULTS %s in one line', (value, message) => {
    const run = () => parseConfig(OperatorConfigSchema, { COMPONENT_DEFAULTS: value });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
    expect(run).not.toThrow(/\n/);
  });
});
