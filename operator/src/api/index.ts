// The ObservabilityDemo API as the operator sees it: the types generated from crds/ and the names that address it.
// `ObservabilityDemo` is what a user may write; `DefaultedObservabilityDemo` is what the apiserver returns (every
// schema default applied, so defaulted fields are never undefined): type objects read from the cluster with it.
export type * from './v1alpha1.generated.js';

export const GROUP = 'obsdemo.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ObservabilityDemo';
export const LIST_KIND = 'ObservabilityDemoList';
export const PLURAL = 'observabilitydemos';
export const SINGULAR = 'observabilitydemo';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** The values spec.services is keyed by, in the order the operator reports them. */
export const SERVICE_NAMES = ['catalog', 'processor', 'invoices', 'gateway', 'loadgen'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The condition types the operator maintains in status.conditions. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'TelemetryVerified'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** The values of status.phase. */
export const PHASES = ['Pending', 'Progressing', 'Ready', 'Degraded', 'Paused'] as const;
