// bench/prepare-event: CPU µs of prepareEvent() alone (validate, redact, serialize the parts of a
// record, encode them once) on the bench's sample event and on variants of it, so that a change to
// the serializer is measured without the hashing and signing around it. Best of 5 loops of
// --n calls after a warm-up loop, same process. Not a test: it asserts nothing.
//
//   node bench/prepare-event.bench.mjs [--n 200000] [--json]
import { prepareEvent, uuidv7 } from '../packages/core/dist/esm/record/record.js';
import { createRedactor } from '../packages/core/dist/esm/record/redact.js';
import { machine, parseArgs, report, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const n = args.num('--n', 200_000);
const json = args.flag('--json');
const r = createRedactor(undefined);
const sample = Array.from({ length: 1000 }, (_, i) => sampleEvent(i));
const variants = {
  'sample event': sample,
  'action and outcome only': sample.map((e) => ({ action: e.action, outcome: 'success' })),
  'without attributes': sample.map((e) => ({ ...e, attributes: undefined })),
  'without trace ids': sample.map((e) => ({ ...e, trace_id: undefined, span_id: undefined })),
  'with its own id and time': sample.map((e, i) => ({ ...e, id: `01890a5d-ac96-774b-bcce-b302099a${String(i).padStart(4, '0')}`, time: 1_764_720_000_000 + (i >> 4) })),
};
let sink = 0;
const rows = [];
for (const [name, events] of Object.entries(variants)) {
  let best = Infinity;
  for (let k = 0; k < 6; k++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) sink += prepareEvent(events[i % 1000], r, uuidv7).partsBytes;
    const c = process.cpuUsage(c0);
    if (k > 0) best = Math.min(best, (c.user + c.system) / n);
  }
  rows.push({ name, cpuMicros: best });
}
if (sink === 0) throw new Error('nothing prepared');
report({ bench: 'prepare-event', machine: machine(), n, rows }, [`prepare-event: CPU µs per prepareEvent() call, best of 5 × ${n}`, ...rows.map((x) => `${x.name.padEnd(26)} ${x.cpuMicros.toFixed(3)}`)], json);
