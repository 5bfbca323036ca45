#!/usr/bin/env node
// Summarizes a conformance results dir (one run.sh run).
//   node summarize.mjs <dir>            every FAILURE and WARNING check with details, then totals
//   node summarize.mjs <dir> --all      every check
//   node summarize.mjs <dir> --counts   "<passed> <failed>": SUCCESS/FAILURE checks of scored
//                                       scenarios only (for run-all.sh's final line)
// Scenarios the suite ran but did not score (--requirements ... not_scored) are tagged.
import fs from 'node:fs';
import path from 'node:path';

const [dir, mode] = process.argv.slice(2);
if (!dir) { console.error('usage: summarize.mjs <results-dir> [--all|--counts]'); process.exit(2); }

// The unscored scenarios are listed in the suite's own log, under "Not scored for <rev>: ...".
const logFile = path.join(dir, 'suite.log');
const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '') : '';
const notScored = new Set([...(log.split(/^Not scored/m)[1] ?? '').matchAll(/^\s+[✓✗] (\S+) \(/gm)].map((m) => m[1]));

const totals = {};
const scored = { passed: 0, failed: 0 };
const failedScenarios = new Set();
let scenarios = 0;
for (const entry of fs.readdirSync(dir).sort()) {
  const file = path.join(dir, entry, 'checks.json');
  if (!fs.existsSync(file)) continue;
  scenarios++;
  // Directory names are server-<scenario>-<ISO timestamp with ':' and '.' replaced>.
  const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
  const tag = notScored.has(scenario) ? ' (not scored)' : '';
  for (const c of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    totals[c.status] = (totals[c.status] ?? 0) + 1;
    if (!tag && c.status === 'SUCCESS') scored.passed++;
    if (!tag && c.status === 'FAILURE') scored.failed++;
    if (c.status === 'FAILURE') failedScenarios.add(scenario + tag);
    if (mode === '--counts' || (mode !== '--all' && c.status !== 'FAILURE' && c.status !== 'WARNING')) continue;
    const details = c.details === undefined ? '' : ` details=${JSON.stringify(c.details).slice(0, 600)}`;
    console.log(`${c.status.padEnd(8)} ${scenario}${tag} [${c.id}] ${c.errorMessage ?? c.description ?? ''}${details}`);
  }
}
if (mode === '--counts') {
  console.log(`${scored.passed} ${scored.failed}`);
} else {
  const counts = Object.entries(totals).map(([k, v]) => `${v} ${k}`).join(', ') || 'no checks';
  console.log(`checks: ${counts} in ${scenarios} scenarios; failing scenarios: ${[...failedScenarios].join(' ') || 'none'}`);
}
