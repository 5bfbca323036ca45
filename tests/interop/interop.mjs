#!/usr/bin/env node
// Interop test: the official TypeScript SDK client drives one server binary.
//
//   node tests/interop/interop.mjs [--label L] [--fixtures auto|require] [--timeout-ms MS]
//        (--stdio <command> [args...] | --http <url>)
//   node tests/interop/interop.mjs [--label L] --inspector --stdio <command> [args...]
//
// Checks: initialize, ping, tools/list (all pages) with every inputSchema/outputSchema compiled by
// ajv in JSON Schema 2020-12 mode, unknown tool -> -32602, calls of read-only no-argument tools,
// prompts and resources when declared, and, when the conformance fixtures are registered, fixture
// calls plus progress and cancellation of test_cancellable_sleep. --fixtures require fails when the
// fixture tools are absent (for conformance-server), auto skips those checks (for hpc-mcp).
// --inspector instead runs MCP Inspector's CLI with --method tools/list against the stdio server.
// Prints PASS/FAIL/SKIP/WARN per check and a last line "N passed, M failed"; exit 1 if M > 0.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REQUEST_TIMEOUT_MS = 10000;
const MAX_PAGES = 100; // pagination guard: a server that never stops paging is a failure
const FIXTURES = ['test_simple_text', 'test_image_content', 'test_error_handling', 'test_cancellable_sleep'];

// ---- arguments ----
const opts = { label: '', fixtures: 'auto', timeoutMs: 120000, inspector: false, stdio: null, http: null };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--label') opts.label = a[++i];
    else if (a[i] === '--fixtures') opts.fixtures = a[++i];
    else if (a[i] === '--timeout-ms') opts.timeoutMs = Number(a[++i]);
    else if (a[i] === '--inspector') opts.inspector = true;
    else if (a[i] === '--http') opts.http = a[++i];
    else if (a[i] === '--stdio') { opts.stdio = a.slice(i + 1); break; }
    else usage(`unknown argument ${a[i]}`);
  }
  if (!opts.http === !opts.stdio?.length) usage('give exactly one of --stdio <command...> or --http <url>');
  if (!['auto', 'require'].includes(opts.fixtures)) usage('--fixtures is auto or require');
  if (opts.inspector && !opts.stdio) usage('--inspector needs --stdio');
  // Servers run in a scratch dir, so a relative command path is resolved against our cwd first.
  if (opts.stdio && opts.stdio[0].includes('/')) opts.stdio[0] = path.resolve(opts.stdio[0]);
}
function usage(msg) {
  console.error(`interop: ${msg}\nusage: interop.mjs [--label L] [--fixtures auto|require] [--timeout-ms MS] [--inspector] ` +
    '(--stdio <command> [args...] | --http <url>)');
  process.exit(2);
}

// ---- check bookkeeping ----
const label = opts.label || (opts.http ? `http ${opts.http}` : `stdio ${path.basename(opts.stdio[0])}`);
const counts = { passed: 0, failed: 0 };
const print = (status, name, detail) => console.log(`${status.padEnd(4)} [${label}] ${name}${detail ? `: ${detail}` : ''}`);
const skip = (name, why) => print('SKIP', name, why);
const warn = (name, why) => print('WARN', name, why);
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    counts.passed++;
    print('PASS', name, `${detail ?? ''} (${Date.now() - t0} ms)`.trim());
    return true;
  } catch (err) {
    counts.failed++;
    print('FAIL', name, `${err?.message ?? err} (${Date.now() - t0} ms)`);
    return false;
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function finish() {
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed > 0 ? 1 : 0);
}
// Whole-run watchdog: a hung server fails the run instead of hanging CI.
setTimeout(() => { counts.failed++; print('FAIL', 'watchdog', `run exceeded ${opts.timeoutMs} ms`); finish(); }, opts.timeoutMs).unref();

// A scratch cwd outside the repo, so whatever state a server writes lands nowhere that matters.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hpc-mcp-interop-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const serverCwd = path.join(scratch, 'work');
fs.mkdirSync(serverCwd);
// Process groups we spawned (the inspector and its children) die with us.
const groups = new Set();
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const g of groups) try { process.kill(-g, 'SIGKILL'); } catch {}
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

if (opts.inspector) await inspectorCheck();
else await sdkChecks();
finish();

// ---- MCP Inspector CLI ----
async function inspectorCheck() {
  // inspector-cli 1.0.3 tests fs.existsSync('../package.json') against the *cwd* but then imports
  // '../package.json' relative to its own file; any cwd whose parent holds a package.json passes.
  // So it runs in scratch/work next to a dummy scratch/package.json (the server inherits that cwd).
  fs.writeFileSync(path.join(scratch, 'package.json'), '{}\n');
  const cli = path.join(ROOT, 'node_modules/.bin/mcp-inspector-cli');
  // Server args go right after the command; the inspector keeps unknown flags as server args.
  // (Do not pass --log-level: the inspector would take it as its own option.)
  const argv = ['--cli', ...opts.stdio, '--method', 'tools/list'];
  await check('inspector-cli tools/list', async () => {
    const { code, stdout, stderr } = await run(cli, argv, serverCwd, 30000);
    assert(code === 0, `exit ${code}; stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    let out;
    try { out = JSON.parse(stdout); } catch { throw new Error(`stdout is not JSON: ${stdout.slice(0, 200)}`); }
    assert(Array.isArray(out?.tools), 'no "tools" array in the output');
    return `exit 0, ${out.tools.length} tools`;
  });
}

function run(cmd, argv, cwd, timeoutMs) {
  return new Promise((resolve) => {
    // Own process group, so a timeout kills the inspector, its node child and the server together.
    const p = spawn(cmd, argv, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(p.pid);
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { try { process.kill(-p.pid, 'SIGKILL'); } catch {} }, timeoutMs);
    p.on('error', (err) => { clearTimeout(timer); resolve({ code: -1, stdout, stderr: String(err) }); });
    p.on('close', (code, signal) => { clearTimeout(timer); groups.delete(p.pid); resolve({ code: code ?? signal, stdout, stderr }); });
  });
}

// ---- SDK client checks ----
async function sdkChecks() {
  const transport = opts.http
    ? new StreamableHTTPClientTransport(new URL(opts.http))
    : new StdioClientTransport({ command: opts.stdio[0], args: opts.stdio.slice(1), cwd: serverCwd, stderr: 'pipe' });
  const stderrTail = [];
  transport.stderr?.on('data', (d) => { stderrTail.push(String(d)); if (stderrTail.length > 20) stderrTail.shift(); });
  const client = new Client({ name: 'hpc-mcp-interop', version: '1.0.0' }, { capabilities: {} });
  // Transport/protocol errors (non-JSON stdout, responses to unknown ids, stray progress) land here.
  const protocolErrors = [];
  client.onerror = (err) => protocolErrors.push(err?.message ?? String(err));
  const req = { timeout: REQUEST_TIMEOUT_MS };

  const connected = await check('initialize', async () => {
    await client.connect(transport, req);
    const v = client.getServerVersion();
    assert(v?.name && v?.version, 'serverInfo lacks name/version');
    return `${v.name} ${v.version}, capabilities ${Object.keys(client.getServerCapabilities() ?? {}).join(',')}`;
  });
  if (!connected) {
    if (stderrTail.length) console.log(`server stderr (tail):\n${stderrTail.join('').slice(-2000)}`);
    return;
  }
  const caps = client.getServerCapabilities() ?? {};
  await check('ping', async () => { await client.ping(req); });

  // tools/list, all pages
  let tools = [];
  await check('tools/list', async () => {
    tools = await listAll(client, 'listTools', 'tools');
    const names = tools.map((t) => t.name);
    assert(new Set(names).size === names.length, `duplicate tool names: ${names}`);
    for (const t of tools) {
      assert(/^[A-Za-z0-9_.-]{1,128}$/.test(t.name ?? ''), `bad tool name ${JSON.stringify(t.name)}`);
      assert(t.inputSchema?.type === 'object', `${t.name}: inputSchema.type must be "object"`);
    }
    return `${tools.length} tools: ${names.join(' ') || '(none)'}`;
  });

  // Every published schema must compile as JSON Schema 2020-12, strictly (unknown keywords fail).
  const ajv = makeAjv();
  const outputValidators = new Map();
  for (const t of tools) {
    await check(`schema ${t.name}`, async () => {
      compile(ajv, t.inputSchema, 'inputSchema');
      if (t.outputSchema !== undefined) {
        assert(t.outputSchema?.type === 'object', 'outputSchema.type must be "object"');
        outputValidators.set(t.name, compile(ajv, t.outputSchema, 'outputSchema'));
      }
      return t.outputSchema ? 'input+output' : 'input';
    });
  }
  // Checks a tools/call result's shape and, when the tool has an outputSchema, its structuredContent.
  const checkResult = (name, r) => {
    assert(Array.isArray(r?.content), 'result.content is not an array');
    const v = outputValidators.get(name);
    if (v && !r.isError) {
      assert(r.structuredContent !== undefined, 'tool has an outputSchema but returned no structuredContent');
      assert(v(r.structuredContent), `structuredContent violates outputSchema: ${ajv.errorsText(v.errors)}`);
    }
  };

  await check('unknown tool -> -32602', async () => {
    try {
      const r = await client.callTool({ name: 'no_such_tool_interop', arguments: {} }, undefined, req);
      throw new Error(`got a result instead of a JSON-RPC error: ${JSON.stringify(r).slice(0, 200)}`);
    } catch (err) {
      assert(err?.code === -32602, `expected error code -32602, got ${err?.code}: ${err?.message}`);
    }
  });

  // Tools that declare themselves read-only and need no arguments are safe to call blindly.
  const safe = tools.filter((t) => t.annotations?.readOnlyHint === true && !(t.inputSchema?.required?.length > 0));
  if (safe.length === 0) skip('call read-only tools', 'no tool has readOnlyHint=true and no required arguments');
  for (const t of safe) {
    await check(`call ${t.name} (read-only, no arguments)`, async () => {
      const r = await client.callTool({ name: t.name, arguments: {} }, undefined, req);
      checkResult(t.name, r);
      return r.isError ? `isError: ${r.content?.[0]?.text?.slice(0, 120)}` : `${r.content.length} content item(s)`;
    });
  }

  const names = new Set(tools.map((t) => t.name));
  const missing = FIXTURES.filter((f) => !names.has(f));
  if (missing.length === 0) await fixtureChecks(client, req, checkResult, protocolErrors);
  else if (opts.fixtures === 'require') await check('fixtures present', async () => { throw new Error(`missing ${missing.join(' ')}`); });
  else skip('fixture checks (calls, progress, cancellation)', `fixture tools absent: ${missing.join(' ')}`);

  if (caps.prompts) await promptChecks(client, req);
  else skip('prompts', 'server does not declare the prompts capability');
  if (caps.resources) await resourceChecks(client, req);
  else skip('resources', 'server does not declare the resources capability');

  if (opts.http) {
    await check('DELETE session', async () => {
      assert(transport.sessionId, 'server issued no Mcp-Session-Id');
      await transport.terminateSession();
    });
  }
  await check('no protocol errors seen by the client', async () => {
    assert(protocolErrors.length === 0, protocolErrors.slice(0, 5).join(' | '));
  });
  const t0 = Date.now();
  await client.close();
  // The SDK closes stdin and escalates to SIGTERM after 2 s: a slow close means no exit on EOF.
  if (opts.stdio && Date.now() - t0 > 1500) warn('exit on stdin EOF', `server took ${Date.now() - t0} ms to exit`);
}

async function listAll(client, method, key) {
  const items = [];
  const seen = new Set();
  let cursor;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await client[method](cursor === undefined ? {} : { cursor }, { timeout: REQUEST_TIMEOUT_MS });
    assert(Array.isArray(r?.[key]), `${method}: result has no "${key}" array`);
    items.push(...r[key]);
    cursor = r.nextCursor;
    if (cursor === undefined || cursor === null) return items;
    assert(!seen.has(cursor), `${method}: nextCursor ${JSON.stringify(cursor)} repeats`);
    seen.add(cursor);
  }
  throw new Error(`${method}: more than ${MAX_PAGES} pages`);
}

function makeAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // Standard format names are accepted (not validated: no ajv-formats dependency); a misspelt
  // format still fails compilation in strict mode.
  for (const f of ['date-time', 'date', 'time', 'duration', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4',
    'ipv6', 'uri', 'uri-reference', 'iri', 'iri-reference', 'uuid', 'uri-template', 'json-pointer',
    'relative-json-pointer', 'regex']) ajv.addFormat(f, true);
  return ajv;
}

function compile(ajv, schema, what) {
  try {
    return ajv.compile(schema);
  } catch (err) {
    throw new Error(`${what} does not compile as JSON Schema 2020-12: ${err.message}`);
  }
}

// ---- conformance-server fixture checks ----
async function fixtureChecks(client, req, checkResult, protocolErrors) {
  const call = (name, args = {}, extra = {}) => client.callTool({ name, arguments: args }, undefined, { ...req, ...extra });
  await check('fixture test_simple_text', async () => {
    const r = await call('test_simple_text');
    checkResult('test_simple_text', r);
    assert(r.content[0]?.type === 'text' && r.content[0].text.length > 0, `expected non-empty text, got ${JSON.stringify(r.content)}`);
    assert(!r.isError, 'isError is set');
  });
  await check('fixture test_image_content', async () => {
    const r = await call('test_image_content');
    checkResult('test_image_content', r);
    const img = r.content.find((c) => c.type === 'image');
    assert(img?.mimeType === 'image/png', `no image/png content: ${JSON.stringify(r.content).slice(0, 200)}`);
    assert(Buffer.from(img.data, 'base64').subarray(0, 4).toString('latin1') === '\x89PNG', 'data is not a base64 PNG');
  });
  await check('fixture test_error_handling -> isError', async () => {
    const r = await call('test_error_handling');
    assert(r.isError === true, `expected isError: true, got ${JSON.stringify(r).slice(0, 200)}`);
    assert(r.content?.[0]?.type === 'text', 'error result should carry a text explanation');
  });
  await check('invalid arguments -> isError result', async () => {
    // SEP-1303: argument validation failures are tool errors the model can read, not -32602.
    const r = await call('test_cancellable_sleep', { duration_ms: -1 });
    assert(r.isError === true, `expected isError: true, got ${JSON.stringify(r).slice(0, 200)}`);
  });
  await check('test_cancellable_sleep completes with progress', async () => {
    const progress = [];
    const errorsBefore = protocolErrors.length;
    const r = await call('test_cancellable_sleep', { duration_ms: 100 }, { onprogress: (p) => progress.push(p.progress) });
    // SDK 1.x client quirk: it handles notifications a microtask later than responses, so a
    // progress notification sent just before the response reaches it as "unknown token".
    await new Promise((res) => setTimeout(res, 20));
    const late = protocolErrors.splice(errorsBefore);
    assert(late.every((e) => /progress notification for an unknown token/.test(e)), late.join(' | '));
    checkResult('test_cancellable_sleep', r);
    assert(r.structuredContent?.slept_ms === 100, `expected structuredContent {slept_ms: 100}, got ${JSON.stringify(r)}`);
    assert(JSON.parse(r.content[0]?.text ?? 'null')?.slept_ms === 100, `expected the text copy of the structured result, got ${JSON.stringify(r.content)}`);
    assert(progress.length >= 1, 'no progress notification for a request with a progressToken');
    assert(progress.every((p, i) => i === 0 || p > progress[i - 1]), `progress not strictly increasing: ${progress}`);
    return `progress ${progress.join(',')}${late.length ? ` (+${late.length} dropped by the SDK client race)` : ''}`;
  });
  await check('cancel test_cancellable_sleep', async () => {
    const ac = new AbortController();
    const progress = [];
    let abortedAt = 0;
    const errorsBefore = protocolErrors.length;
    const pending = call('test_cancellable_sleep', { duration_ms: 10000 }, {
      timeout: 20000,
      signal: ac.signal,
      onprogress: (p) => {
        progress.push(p.progress);
        if (progress.length === 3) { abortedAt = Date.now(); ac.abort('interop cancel'); }
      },
    });
    let outcome;
    try {
      outcome = `resolved: ${JSON.stringify(await pending).slice(0, 200)}`;
    } catch (err) {
      outcome = err;
    }
    assert(abortedAt > 0, `only ${progress.length} progress notification(s) before the call ended (${outcome?.message ?? outcome})`);
    assert(outcome instanceof Error, `call was not rejected after abort, ${outcome}`);
    const rejectMs = Date.now() - abortedAt;
    assert(rejectMs < 2000, `call rejected ${rejectMs} ms after abort (limit 2000)`);
    assert(progress.every((p, i) => i === 0 || p > progress[i - 1]), `progress not strictly increasing: ${progress}`);
    // A server that ignores notifications/cancelled keeps sending progress (every 50 ms) and
    // finally a response; the SDK reports both as unknown-token / unknown-id errors. Allow one
    // notification that was already in flight when the cancel was sent.
    await new Promise((r) => setTimeout(r, 500));
    const late = protocolErrors.splice(errorsBefore);
    const lateProgress = late.filter((e) => /progress/i.test(e)).length;
    assert(lateProgress <= 1, `${lateProgress} progress notifications after cancel: server kept working`);
    assert(late.length - lateProgress === 0, `after cancel: ${late.join(' | ')}`);
    return `${progress.length} progress (${progress.join(',')}), rejected ${rejectMs} ms after abort, quiet afterwards`;
  });
  await check('ping after cancel', async () => { await client.ping(req); });
}

// ---- prompts and resources ----
async function promptChecks(client, req) {
  let prompts = [];
  const ok = await check('prompts/list', async () => {
    prompts = await listAll(client, 'listPrompts', 'prompts');
    for (const p of prompts) assert(typeof p.name === 'string' && p.name, `prompt without name: ${JSON.stringify(p)}`);
    return `${prompts.length} prompts: ${prompts.map((p) => p.name).join(' ') || '(none)'}`;
  });
  if (!ok) return;
  if (prompts.length === 0) return skip('prompts/get', 'no prompts listed');
  const p = prompts.find((x) => x.name === 'test_simple_prompt') ?? prompts[0];
  await check(`prompts/get ${p.name}`, async () => {
    // Required arguments get a placeholder value; prompts must render with any string.
    const args = Object.fromEntries((p.arguments ?? []).filter((a) => a.required).map((a) => [a.name, 'interop']));
    const r = await client.getPrompt({ name: p.name, arguments: args }, req);
    assert(Array.isArray(r?.messages) && r.messages.length > 0, 'no messages');
    for (const m of r.messages) {
      assert(['user', 'assistant'].includes(m.role), `bad role ${m.role}`);
      assert(typeof m.content?.type === 'string', 'message without content.type');
    }
    return `${r.messages.length} message(s)`;
  });
  try {
    await client.getPrompt({ name: 'no_such_prompt_interop' }, req);
    warn('unknown prompt', 'got a result instead of error -32602 (SHOULD)');
  } catch (err) {
    if (err?.code !== -32602) warn('unknown prompt', `error code ${err?.code} instead of -32602 (SHOULD)`);
  }
}

async function resourceChecks(client, req) {
  let resources = [];
  const ok = await check('resources/list', async () => {
    resources = await listAll(client, 'listResources', 'resources');
    for (const r of resources) assert(r.uri && r.name, `resource without uri/name: ${JSON.stringify(r)}`);
    return `${resources.length} resources`;
  });
  await check('resources/templates/list', async () => {
    const t = await listAll(client, 'listResourceTemplates', 'resourceTemplates');
    return `${t.length} templates`;
  });
  if (!ok) return;
  if (resources.length === 0) return skip('resources/read', 'no resources listed');
  const res = resources.find((r) => r.uri === 'test://static-text') ?? resources[0];
  await check(`resources/read ${res.uri}`, async () => {
    const r = await client.readResource({ uri: res.uri }, req);
    assert(Array.isArray(r?.contents) && r.contents.length > 0, 'empty contents');
    for (const c of r.contents) {
      assert(typeof c.uri === 'string', 'content without uri');
      assert(typeof c.text === 'string' || typeof c.blob === 'string', 'content with neither text nor blob');
    }
    return `${r.contents.length} content item(s)`;
  });
}
