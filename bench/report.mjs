// Summarizes the JSON lines that bench/run.sh collected from mcp_bench:
// per case the median over runs of each metric, the ratios ours/TS and
// ours/limit, and the targets as PASS/MISS lines.
//
//   node bench/report.mjs RESULTS.jsonl [--markdown OUT.md]

import {readFileSync, writeFileSync} from 'node:fs';

const kCases = [
  ['limit-stdio', 'limit_server (C++, fixed replies), stdio'],
  ['ours-stdio', 'conformance-server, stdio'],
  ['ours-stdio-modern', 'conformance-server, stdio, 2026-07-28 (stateless)'],
  ['ts-stdio', 'TS SDK 1.32.2, stdio'],
  ['limit-http', 'limit_server (C++, fixed replies), HTTP'],
  ['ours-http', 'conformance-server, HTTP'],
  ['ours-http-modern', 'conformance-server, HTTP, 2026-07-28 (stateless)'],
  ['ts-http', 'TS SDK 1.32.2, HTTP (JSON responses)'],
  ['ts-http-sse', 'TS SDK 1.32.2, HTTP (SSE responses)'],
];
// Targets from the issue.
const kCeilingFraction = 0.5;
const kMaxRssKb = 8 * 1024;
const kMaxInitMs = 10;
const kFlatCalls = 100000;
const kFlatGrowthKb = 1024;

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && x >= 0).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function fmt(x, digits = 0) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

function ratio(a, b) {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function fmtRatio(r) {
  return r === undefined ? '–' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`;
}

const args = process.argv.slice(2);
if (args.length < 1) {
  process.stderr.write('usage: report.mjs RESULTS.jsonl [--markdown OUT.md]\n');
  process.exit(2);
}
const mdIndex = args.indexOf('--markdown');
const mdPath = mdIndex >= 0 ? args[mdIndex + 1] : null;

const runs = new Map();  // label -> [result]
for (const line of readFileSync(args[0], 'utf8').split('\n')) {
  if (!line.trim()) continue;
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    continue;
  }
  if (!runs.has(r.label)) runs.set(r.label, []);
  runs.get(r.label).push(r);
}

// Median of every metric over the runs that verified every call.
const summary = new Map();
for (const [label] of kCases) {
  const all = runs.get(label) ?? [];
  const ok = all.filter((r) => r.ok);
  if (all.length === 0) continue;
  const m = (f) => median(ok.map(f));
  summary.set(label, {
    runs: all.length,
    ok: ok.length,
    errors: all.filter((r) => !r.ok).map((r) => r.error),
    capped: ok.some((r) => r.latency?.capped || r.throughput?.capped),
    init: m((r) => r.init_ms),
    latP50: m((r) => r.latency.p50_us),
    latP90: m((r) => r.latency.p90_us),
    latP99: m((r) => r.latency.p99_us),
    latRate: m((r) => r.latency.calls_per_s),
    rate: m((r) => r.throughput.calls_per_s),
    tputCalls: m((r) => r.throughput.calls),
    tputP50: m((r) => r.throughput.p50_us),
    tputP99: m((r) => r.throughput.p99_us),
    srvCpu: m((r) => r.throughput.srv_cpu_us_per_call),
    drvCpu: m((r) => r.throughput.drv_cpu_us_per_call),
    hwmKb: m((r) => r.rss.hwm_kb),
    anonKb: m((r) => r.rss.anon_kb),
    firstKb: m((r) => r.rss.first_kb),
    lastKb: m((r) => r.rss.last_kb),
    maxKb: m((r) => r.rss.max_kb),
    okRuns: ok,
  });
}

const out = [];
const p = (s = '') => out.push(s);

p('| case | ok runs | init ms | lat p50 / p90 / p99 µs | lat calls/s | tput calls/s | ' +
  'tput p50 / p99 µs | srv CPU µs/call | drv CPU µs/call | VmHWM (RssAnon) MB | VmRSS first → last (max) MB |');
p('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [label, title] of kCases) {
  const s = summary.get(label);
  if (!s) continue;
  const mb = (kb) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));
  p(`| ${label}: ${title}${s.capped ? ' *' : ''} | ${s.ok}/${s.runs} | ${fmt(s.init, 1)} | ` +
    `${fmt(s.latP50, 1)} / ${fmt(s.latP90, 1)} / ${fmt(s.latP99, 1)} | ${fmt(s.latRate)} | ` +
    `${fmt(s.rate)} | ${fmt(s.tputP50, 1)} / ${fmt(s.tputP99, 1)} | ${fmt(s.srvCpu, 1)} | ` +
    `${fmt(s.drvCpu, 2)} | ${mb(s.hwmKb)} (${mb(s.anonKb)}) | ` +
    `${mb(s.firstKb)} → ${mb(s.lastKb)} (${mb(s.maxKb)}) |`);
}
if ([...summary.values()].some((s) => s.capped)) {
  p('');
  p('\\* a phase hit the --phase-s cap: fewer calls than asked (rates are still rates).');
}
for (const [label, s] of summary) {
  for (const e of s.errors) p(`FAILED ${label}: ${e}`);
}

// Ratios "A vs B": > 1 means A is better (faster, leaner); A's throughput
// over B's, B's latency, CPU, memory and start-up over A's.
const ratioRows = [];
const pair = (name, a, b) => {
  const x = summary.get(a), y = summary.get(b);
  if (!x || !y) return;
  ratioRows.push(`| ${name} | ${fmtRatio(ratio(y.latP50, x.latP50))} | ${fmtRatio(ratio(y.latP99, x.latP99))} | ` +
    `${fmtRatio(ratio(x.rate, y.rate))} | ${fmtRatio(ratio(y.srvCpu, x.srvCpu))} | ` +
    `${fmtRatio(ratio(y.hwmKb, x.hwmKb))} | ${fmtRatio(ratio(y.init, x.init))} |`);
};
pair('ours vs TS, stdio', 'ours-stdio', 'ts-stdio');
pair('ours vs TS, HTTP (JSON)', 'ours-http', 'ts-http');
pair('ours vs TS, HTTP (SSE)', 'ours-http', 'ts-http-sse');
pair('ours 2026-07-28 vs TS, stdio', 'ours-stdio-modern', 'ts-stdio');
pair('ours 2026-07-28 vs TS, HTTP (JSON)', 'ours-http-modern', 'ts-http');
pair('ours 2026-07-28 vs ours 2025-11-25, stdio', 'ours-stdio-modern', 'ours-stdio');
pair('ours 2026-07-28 vs ours 2025-11-25, HTTP', 'ours-http-modern', 'ours-http');
pair('ours vs limit, stdio', 'ours-stdio', 'limit-stdio');
pair('ours vs limit, HTTP', 'ours-http', 'limit-http');
pair('limit vs TS, stdio', 'limit-stdio', 'ts-stdio');
pair('limit vs TS, HTTP (JSON)', 'limit-http', 'ts-http');
if (ratioRows.length) {
  p('');
  p('Ratios "A vs B" (> 1: A is better; vs limit, throughput = fraction of the ceiling):');
  p('');
  p('| ratio | lat p50 | lat p99 | throughput | srv CPU/call | VmHWM | init |');
  p('|---|---|---|---|---|---|---|');
  ratioRows.forEach((r) => p(r));
}

// Targets.
p('');
const check = (ok, text) => p(`${ok === undefined ? 'N/A ' : ok ? 'PASS' : 'MISS'} ${text}`);
const os = summary.get('ours-stdio'), oh = summary.get('ours-http');
const ls = summary.get('limit-stdio'), lh = summary.get('limit-http');
for (const [name, o, l] of [['stdio', os, ls], ['HTTP', oh, lh]]) {
  const f = o && l ? ratio(o.rate, l.rate) : undefined;
  check(f === undefined ? undefined : f >= kCeilingFraction,
        `throughput ${name} >= ${kCeilingFraction} x ceiling: ` +
        `${fmt(o?.rate)} / ${fmt(l?.rate)} calls/s = ${f === undefined ? '–' : f.toFixed(2)}`);
}
const hwm = [os?.hwmKb, oh?.hwmKb].filter((x) => x !== undefined);
check(hwm.length ? Math.max(...hwm) < kMaxRssKb : undefined,
      `peak RSS < ${kMaxRssKb / 1024} MiB: VmHWM stdio ${fmt(os?.hwmKb / 1024, 1)} MiB, ` +
      `HTTP ${fmt(oh?.hwmKb / 1024, 1)} MiB`);
check(os?.init === undefined ? undefined : os.init < kMaxInitMs,
      `start to initialized < ${kMaxInitMs} ms (stdio, spawn -> initialize response): ` +
      `${fmt(os?.init, 2)} ms`);
if (oh && oh.okRuns.length) {
  const growth = oh.okRuns.map((r) => (r.rss.last_kb ?? 0) - (r.rss.first_kb ?? 0));
  const calls = Math.min(...oh.okRuns.map((r) => r.throughput.calls));
  // Fewer calls (a quick run, or the phase cap hit): no verdict on memory.
  check(calls < kFlatCalls ? undefined : growth.every((g) => g <= kFlatGrowthKb),
        `HTTP memory flat over ${kFlatCalls.toLocaleString('en-US')} calls ` +
        `(VmRSS growth <= ${kFlatGrowthKb} KiB after the first 10k, every run): ` +
        `growth ${growth.join(', ')} KiB over ${calls.toLocaleString('en-US')} calls`);
} else {
  check(undefined, 'HTTP memory flat: no successful ours-http run');
}

const text = out.join('\n') + '\n';
process.stdout.write(text);
if (mdPath) writeFileSync(mdPath, text);
