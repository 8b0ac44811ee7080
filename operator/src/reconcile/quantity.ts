/** Multipliers of the suffixes of a Kubernetes resource.Quantity (binary SI, decimal SI). */
const SUFFIXES: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/**
 * The value of a Kubernetes quantity (`1Gi`, `1.5G`, `512e6`, or a plain number), as the CRD's quantity pattern
 * admits it. Throws for anything else. A number, not a bigint: the sizes the operator computes with fit.
 */
export function quantityValue(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (match === null) throw new Error(`"${quantity}" is not a Kubernetes quantity (e.g. 1Gi, 500M)`);
  const [, number, exponent, suffix = ''] = match;
  return Number(`${number}${exponent ?? ''}`) * (SUFFIXES[suffix] ?? 1);
}
