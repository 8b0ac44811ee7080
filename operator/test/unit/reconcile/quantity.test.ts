import { describe, expect, it } from '@jest/globals';
import { quantityValue } from '../../../src/reconcile/quantity.js';

describe('quantityValue', () => {
  it.each([
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['2G', 2e9],
    ['500k', 5e5],
    ['512e6', 512e6],
    ['100m', 0.1],
    ['1024', 1024],
    [2048, 2048],
  ])('reads %s as %d', (quantity, value) => {
    expect(quantityValue(quantity)).toBe(value);
  });

  it.each(['1GB', 'Gi', '1 Gi', '1.2.3', ''])('refuses %j with the form it expects', (quantity) => {
    expect(() => quantityValue(quantity)).toThrow(/is not a Kubernetes quantity \(e\.g\. 1Gi, 500M\)/);
  });
});
