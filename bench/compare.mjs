// Performance regression guard (runbook Gate F): a fresh bench/results/latest.json against the
// committed bench/results/baseline.json. Exit 0 when no ratio is more than --tolerance (10 %)
// worse, 1 when one is (or a bench is missing), 2 when a file cannot be read.
//
//   node bench/run-all.mjs && node bench/compare.mjs [--baseline FILE] [--latest FILE] [--tolerance 0.1]
//
// Refresh the baseline after an intended change, on a quiet machine:
//   node bench/run-all.mjs && cp bench/results/latest.json bench/results/baseline.json
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareResults, DEFAULT_TOLERANCE, formatComparison } from './compare-lib.mjs';
import { parseArgs } from './lib/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs();
const tolerance = args.num('--tolerance', DEFAULT_TOLERANCE);
let baseline;
let latest;
try {
  baseline = JSON.parse(readFileSync(args.str('--baseline', join(here, 'results', 'baseline.json')), 'utf8'));
  latest = JSON.parse(readFileSync(args.str('--latest', join(here, 'results', 'latest.json')), 'utf8'));
} catch (err) {
  console.error(`compare: ${err.message}`);
  process.exit(2);
}
try {
  const result = compareResults(baseline, latest, { tolerance });
  console.log(formatComparison(result, tolerance));
  process.exitCode = result.ok ? 0 : 1;
} catch (err) {
  console.error(`compare: ${err.message}`);
  process.exitCode = 2;
}
