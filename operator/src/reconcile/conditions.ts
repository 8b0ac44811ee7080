import type { Condition } from '../api/index.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** What a reconcile observed for one condition type; timestamps are the condition helpers' business. */
export interface ObservedCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * metav1.Condition semantics (as apimachinery's meta.SetStatusCondition): lastTransitionTime changes only when
 * the status changes; reason, message and observedGeneration are always updated. The order of existing types is
 * kept and new types are appended, so an unchanged observation gives a deep-equal list (and no status write).
 */
export function setCondition(
  conditions: readonly Condition[],
  observed: ObservedCondition,
  observedGeneration: number,
  now: Date,
): Condition[] {
  const next: Condition = {
    type: observed.type,
    status: observed.status,
    reason: observed.reason,
    message: observed.message,
    observedGeneration,
    lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const index = conditions.findIndex((c) => c.type === observed.type);
  if (index === -1) return [...conditions, next];
  const current = conditions[index];
  if (current?.status === observed.status) next.lastTransitionTime = current.lastTransitionTime;
  return conditions.map((c, i) => (i === index ? next : c));
}

/** Applies several observations in order. */
export function setConditions(
  conditions: readonly Condition[],
  observed: readonly ObservedCondition[],
  observedGeneration: number,
  now: Date,
): Condition[] {
  return observed.reduce((acc, o) => setCondition(acc, o, observedGeneration, now), [...conditions]);
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
