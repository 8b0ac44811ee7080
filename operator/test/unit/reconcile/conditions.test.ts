import { describe, expect, it } from '@jest/globals';
import { setCondition, setConditions, isConditionTrue } from '../../../src/reconcile/conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

describe('setCondition', () => {
  it('adds a new condition with RFC 3339 seconds precision, as metav1.Time serializes', () => {
    const out = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'Progressing', message: 'm' },
      3,
      t0,
    );
    expect(out).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'Progressing',
        message: 'm',
        observedGeneration: 3,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not change, but updates reason, message and generation', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(second[0]).toMatchObject({ reason: 'B', message: 'b', observedGeneration: 2 });
    expect(second[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, 1, t0);
    const second = setCondition(
      first,
      { type: 'Ready', status: 'True', reason: 'AllReady', message: '' },
      1,
      t1,
    );
    expect(second[0]!.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(isConditionTrue(second, 'Ready')).toBe(true);
  });

  it('keeps the order of existing types, so the same observations give an equal list', () => {
    const obs = [
      { type: 'Ready', status: 'True', reason: 'R', message: '' },
      { type: 'Degraded', status: 'False', reason: 'D', message: '' },
    ] as const;
    const first = setConditions([], obs, 1, t0);
    const again = setConditions(first, [...obs].reverse(), 1, t1);
    expect(again).toEqual(first);
    expect(again.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
  });

  it('does not mutate its input', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, 1, t0);
    const copy = structuredClone(first);
    setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: '' }, 2, t1);
    expect(first).toEqual(copy);
  });
});
