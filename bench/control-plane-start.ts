// Start-to-ready time of the local control plane: etcd, kube-apiserver, controller-manager, scheduler and kwok
// started, /readyz answering, the default ServiceAccount present and the kwok node Ready.
// Usage: node bench/control-plane-start.ts [runs] [--out FILE]   (after `make tools build`)
import { ControlPlane } from '@obsdemo/testenv';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { describeLoad, loadBefore } from './machine.ts';

const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
const runs = Number(positionals[0] ?? 5);
const machine = loadBefore();
console.log(describeLoad(machine));
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const cp = await ControlPlane.start();
  times.push((performance.now() - started) / 1000);
  await cp.stop();
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
console.log(`control plane start-to-ready over ${runs} runs: ${times.map((t) => t.toFixed(1)).join(', ')} s`);
console.log(
  `median ${median.toFixed(1)} s, min ${sorted[0]?.toFixed(1)} s, max ${sorted.at(-1)?.toFixed(1)} s`,
);
if (values.out !== undefined) {
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ loadBefore: machine, runs, seconds: times, medianS: median }, null, 2)}\n`,
  );
}
