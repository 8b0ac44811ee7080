// Sums the resource requests and limits of every workload the charts render with a profile (small by default) and a
// trace backend (tempo by default, or jaeger: a demo runs one of them) and Loki, from the real `helm template` output, and
// prints a Markdown table for docs/charts.md.
// Usage: node hack/chart-resources.mjs [small|standard] [tempo|jaeger]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const profile = process.argv[2] ?? 'small';
const backend = process.argv[3] ?? 'tempo';
if (!['tempo', 'jaeger'].includes(backend))
  throw new Error(`trace backend must be tempo or jaeger, not ${backend}`);
const charts = [
  'nats',
  'postgres',
  'prometheus',
  'otel-collector',
  backend,
  'loki',
  'grafana',
  'demo-services',
  'obsdemo-operator',
];

const cpu = (q) => (q === undefined ? 0 : q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
const units = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };
const memory = (q) => {
  if (q === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)([KMG]i?)?$/.exec(String(q));
  if (!m) throw new Error(`unparsed memory quantity ${q}`);
  return Number(m[1]) * (m[2] ? units[m[2]] : 1);
};
const mi = (bytes) => `${Math.round(bytes / 2 ** 20)}Mi`;
const cores = (n) => (n === 0 ? 'none' : `${Math.round(n * 1000)}m`);

const rows = [];
const total = { reqCpu: 0, reqMem: 0, limCpu: 0, limMem: 0 };
for (const chart of charts) {
  const out = execFileSync(
    `${root}/bin/helm`,
    ['template', 'demo', `${root}/charts/${chart}`, '--skip-tests', '--set', `profile=${profile}`],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
  );
  for (const doc of parseAllDocuments(out, { version: '1.1' })) {
    const o = doc.toJS();
    if (!o || !['Deployment', 'StatefulSet'].includes(o.kind)) continue;
    const replicas = o.spec.replicas ?? 1;
    const sum = { reqCpu: 0, reqMem: 0, limCpu: 0, limMem: 0 };
    for (const c of [
      ...(o.spec.template.spec.containers ?? []),
      ...(o.spec.template.spec.initContainers ?? []),
    ]) {
      const r = c.resources ?? {};
      sum.reqCpu += cpu(r.requests?.cpu) * replicas;
      sum.reqMem += memory(r.requests?.memory) * replicas;
      sum.limCpu += cpu(r.limits?.cpu) * replicas;
      sum.limMem += memory(r.limits?.memory) * replicas;
    }
    for (const k of Object.keys(total)) total[k] += sum[k];
    rows.push(
      `| ${chart} | ${o.kind}/${o.metadata.name} | ${replicas} | ${cores(sum.reqCpu)} | ${mi(sum.reqMem)} | ${cores(sum.limCpu)} | ${mi(sum.limMem)} |`,
    );
  }
}
console.log(
  `Profile \`${profile}\`, every component enabled with ${backend === 'tempo' ? 'Tempo' : 'Jaeger'} as the trace backend, ` +
    `default replicas (\`node hack/chart-resources.mjs ${profile} ${backend}\`):\n`,
);
console.log('| chart | workload | replicas | CPU requests | memory requests | CPU limits | memory limits |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log(
  `| **total** | | | **${cores(total.reqCpu)}** | **${mi(total.reqMem)}** | **${cores(total.limCpu)}** | **${mi(total.limMem)}** |`,
);
