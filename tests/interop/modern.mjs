#!/usr/bin/env node
// Interop, 2026-07-28: the official TypeScript SDK 2.x client with automatic version negotiation
// (what Claude Code's v2 runtime does: probe with server/discover, fall back to initialize only
// when the server is not modern) drives one server binary.
//
//   node tests/interop/modern.mjs [--label L] [--kind conformance|hpc] (--stdio <command> [args...] | --http <url>)
//
// Checks: the probe is served and the connection is modern (no fallback); discover's versions and
// capabilities; tools/list with resultType-bearing results; calls. --kind conformance (the
// fixture server): a fixture call, progress, an input-required round trip fulfilled by the
// client's elicitation handler, a subscriptions/listen stream that receives a tools list change.
// --kind hpc (build/hpc-mcp): submit and list_runs in a fresh repository, list_runs without repo
// resolved from the client's roots (an input-required roots/list round trip), an invalid argument
// answered as isError. Both: a client pinned to the legacy handshake is still served as before.
// Prints PASS/FAIL per check and a last line "N passed, M failed"; exit 1 if M > 0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const TIMEOUT_MS = 30000;

const opts = { label: '', kind: 'conformance', stdio: null, http: null };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--label') opts.label = a[++i];
    else if (a[i] === '--kind') opts.kind = a[++i];
    else if (a[i] === '--http') opts.http = a[++i];
    else if (a[i] === '--stdio') { opts.stdio = a.slice(i + 1); break; }
    else usage(`unknown argument ${a[i]}`);
  }
  if (!opts.http === !opts.stdio?.length) usage('give exactly one of --stdio <command...> or --http <url>');
  if (!['conformance', 'hpc'].includes(opts.kind)) usage('--kind is conformance or hpc');
  if (opts.stdio && opts.stdio[0].includes('/')) opts.stdio[0] = path.resolve(opts.stdio[0]);
}
function usage(msg) {
  console.error(`modern: ${msg}\nusage: modern.mjs [--label L] [--kind conformance|hpc] (--stdio <command> [args...] | --http <url>)`);
  process.exit(2);
}

const label = opts.label || (opts.http ? `2026 http ${opts.http}` : `2026 stdio ${path.basename(opts.stdio[0])}`);
const counts = { passed: 0, failed: 0 };
const print = (status, name, detail) => console.log(`${status.padEnd(4)} [${label}] ${name}${detail ? `: ${detail}` : ''}`);
async function check(name, fn) {
  try {
    const detail = await fn();
    counts.passed++;
    print('PASS', name, detail);
    return true;
  } catch (e) {
    counts.failed++;
    print('FAIL', name, e?.message ?? String(e));
    return false;
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

// A scratch directory for the servers' working directory and the hpc repositories.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hpc-mcp-modern-'));
const req = { timeout: TIMEOUT_MS };

function transport() {
  if (opts.http) return new StreamableHTTPClientTransport(new URL(opts.http));
  return new StdioClientTransport({ command: opts.stdio[0], args: opts.stdio.slice(1), cwd: scratch, stderr: 'inherit' });
}

// A client in `mode` ('auto' or 'legacy') with the roots and elicitation capabilities, answering
// roots/list with `roots` and every elicitation with the name "Alice".
async function connect(mode, roots = []) {
  const client = new Client({ name: 'hpc-mcp-interop-modern', version: '1.0.0' }, {
    capabilities: { roots: {}, elicitation: {} },
    versionNegotiation: { mode },
  });
  client.setRequestHandler('roots/list', async () => ({ roots }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Alice' } }));
  await client.connect(transport(), req);
  return client;
}

const textOf = (r) => (r?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function main() {
  let client;
  const connected = await check('auto negotiation: modern, no fallback', async () => {
    client = await connect('auto');
    assert(client.getProtocolEra() === 'modern', `era ${client.getProtocolEra()}`);
    assert(client.getNegotiatedProtocolVersion() === '2026-07-28', `version ${client.getNegotiatedProtocolVersion()}`);
    return client.getNegotiatedProtocolVersion();
  });
  if (!connected) return;
  await check('server/discover', async () => {
    const d = client.getDiscoverResult();
    assert(d?.supportedVersions?.includes('2026-07-28'), `supportedVersions ${JSON.stringify(d?.supportedVersions)}`);
    assert(d.supportedVersions.includes('2025-11-25'), 'the legacy versions are listed too');
    assert(d.capabilities?.tools, 'no tools capability');
    return d.supportedVersions.join(', ');
  });
  let tools = [];
  await check('tools/list', async () => {
    tools = (await client.listTools(undefined, req)).tools;
    assert(tools.length > 0, 'no tools');
    return `${tools.length} tools`;
  });
  const has = (n) => tools.some((t) => t.name === n);

  if (opts.kind === 'conformance') {
    await check('call test_simple_text', async () => {
      const r = await client.callTool({ name: 'test_simple_text', arguments: {} }, req);
      assert(textOf(r).length > 0, JSON.stringify(r));
    });
    await check('progress of test_cancellable_sleep', async () => {
      // Like SDK 1.x, the client handles a notification a microtask after a response that came
      // with it, so the last progress may be dropped: six are sent 50 ms apart, three must come.
      const seen = [];
      await client.callTool({ name: 'test_cancellable_sleep', arguments: { duration_ms: 300 } },
        { ...req, onprogress: (p) => seen.push(p.progress) });
      assert(seen.length >= 3, `progress ${JSON.stringify(seen)}`);
      assert(seen.every((p, i) => i === 0 || p > seen[i - 1]), `not increasing: ${seen}`);
      return seen.join(', ');
    });
    await check('input-required round trip fulfilled by the client', async () => {
      assert(has('test_input_required_result_elicitation'), 'fixture missing');
      const r = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }, req);
      assert(/Alice/.test(textOf(r)), `result ${JSON.stringify(r)}`);
      return textOf(r);
    });
    await check('subscriptions/listen receives a tools list change', async () => {
      assert(has('test_trigger_tool_change'), 'fixture missing');
      let changed;
      const got = new Promise((resolve) => { changed = resolve; });
      client.setNotificationHandler('notifications/tools/list_changed', () => changed(true));
      const sub = await client.listen({ toolsListChanged: true }, req);
      try {
        assert(sub.honoredFilter?.toolsListChanged === true, `honored ${JSON.stringify(sub.honoredFilter)}`);
        await client.callTool({ name: 'test_trigger_tool_change', arguments: {} }, req);
        const ok = await Promise.race([got, new Promise((r) => setTimeout(() => r(false), 5000))]);
        assert(ok, 'no notifications/tools/list_changed within 5 s');
      } finally {
        await sub.close();
      }
    });
  } else {
    const repo = fs.mkdtempSync(path.join(scratch, 'repo-'));
    let runId;
    await check('submit (local profile) in a fresh repository', async () => {
      const r = await client.callTool({ name: 'submit', arguments: { repo, name: 'modern', command: ['true'] } }, req);
      assert(!r.isError, textOf(r));
      runId = r.structuredContent?.run_id;
      assert(runId, `no run_id: ${JSON.stringify(r.structuredContent)}`);
      return runId;
    });
    await check('list_runs with repo', async () => {
      const r = await client.callTool({ name: 'list_runs', arguments: { repo } }, req);
      assert(!r.isError, textOf(r));
      assert(r.structuredContent.runs.some((x) => x.run_id === runId), 'the run is not listed');
    });
    await check('list_runs without repo: the repository from the client roots', async () => {
      const rooted = await connect('auto', [{ uri: pathToFileURL(repo).href, name: 'experiment' }]);
      try {
        const r = await rooted.callTool({ name: 'list_runs', arguments: {} }, req);
        assert(!r.isError, textOf(r));
        assert(r.structuredContent.runs.some((x) => x.run_id === runId), `not listed: ${JSON.stringify(r.structuredContent)}`);
      } finally {
        await rooted.close();
      }
    });
    await check('invalid arguments -> isError', async () => {
      const r = await client.callTool({ name: 'list_runs', arguments: { repo, limit: 'many' } }, req);
      assert(r.isError === true, JSON.stringify(r));
    });
  }
  await client.close();

  await check('a client pinned to the legacy handshake is served as before', async () => {
    const legacy = await connect('legacy');
    try {
      assert(legacy.getProtocolEra() === 'legacy', `era ${legacy.getProtocolEra()}`);
      assert(legacy.getNegotiatedProtocolVersion() === '2025-11-25', `version ${legacy.getNegotiatedProtocolVersion()}`);
      const t = (await legacy.listTools(undefined, req)).tools;
      assert(t.length === tools.length, `${t.length} tools, modern listed ${tools.length}`);
    } finally {
      await legacy.close();
    }
  });
}

const guard = setTimeout(() => { console.log(`FAIL [${label}] timeout`); process.exit(1); }, 180000);
try {
  await main();
} catch (e) {
  counts.failed++;
  print('FAIL', 'unexpected', e?.stack ?? String(e));
} finally {
  clearTimeout(guard);
  fs.rmSync(scratch, { recursive: true, force: true });
}
console.log(`${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
