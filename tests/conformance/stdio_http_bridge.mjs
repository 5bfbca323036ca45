#!/usr/bin/env node
// stdio <-> Streamable HTTP bridge, so the conformance suite (HTTP only) can test a stdio server.
//
//   node stdio_http_bridge.mjs [--port N] [--port-file F] [--idle-ms MS] [--max-sessions N]
//                              [--max-lifetime-ms MS] [--cwd DIR] -- <command> [args...]
//
// Binds 127.0.0.1 only. The server speaks both protocol eras (mcp_server/era.h), and so does this
// bridge, routing each POST the way our HTTP transport (mcp_server/http_transport.cc) does:
//
// Legacy (2025-11-25 and earlier): each HTTP session (each accepted `initialize` without modern
// `_meta`) spawns a fresh `command` (argv, no shell) and forwards JSON-RPC messages both ways.
// Messages go through the SDK's StreamableHTTPServerTransport, the reference implementation of
// the stateful HTTP side (session ids, SSE framing, 404 after DELETE, protocol-version header,
// Accept checks, body limits); a stdio run's failures then come from the child's JSON-RPC
// behaviour, not from a home-made HTTP layer. Messages are parsed and re-serialized, so content is
// preserved but not bytes (whitespace, key order).
//
// Modern (2026-07-28, stateless): a POST without Mcp-Session-Id that is not a legacy initialize.
// All of them go to ONE long-lived child, spawned on the first one and never initialized, which
// serves them statelessly as our HTTP server does. Requests from many HTTP clients share its one
// stdin, so the bridge gives each request a unique id and maps everything back:
//   - the response by its id;
//   - notifications/progress by progressToken (the newest in-flight request carrying it);
//   - subscriptions/listen notifications by `_meta["io.modelcontextprotocol/subscriptionId"]`,
//     which the server sets to the listen request's (rewritten) id and the bridge restores;
//   - any other notification (notifications/message, ...) to the one in-flight request it can
//     belong to, else the newest one (listen streams excluded).
// The SDK is no use here (its transport is stateful or single-request), so this path does what
// the server's HTTP layer does itself, and no more: Accept/Content-Type checks, the header checks
// of era.cc CheckModernHeaders (400 + -32020 with the request's id), the HTTP status of an error
// answer (era.cc ModernHttpStatus: 404 for -32601, 400 for -32600/-32602/-32700/-32020/-32021/
// -32022), JSON when only the response comes else SSE, 405 for GET/DELETE without a session, and
// closing a response before it is complete cancels the request (notifications/cancelled with the
// rewritten id to the child). Everything else (the _meta checks, -32022, removed methods, ...) is
// the child's answer, forwarded.
//
// Exit status (on SIGTERM/SIGINT or at --max-lifetime-ms): 0 if every child kept to stdio framing
// and no child died on its own; 1 otherwise, after printing "FAIL stdio-framing: ..." and/or
// "FAIL child-exit: ..." on stderr. run.sh turns that into a failed run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function parseArgs(argv) {
  const sep = argv.indexOf('--');
  if (sep < 0 || sep === argv.length - 1) usage('missing "-- <command> [args...]"');
  const opts = { port: 0, portFile: null, idleMs: 120000, maxSessions: 32, maxLifetimeMs: 3600000, cwd: process.cwd() };
  const flags = argv.slice(0, sep);
  for (let i = 0; i < flags.length; i += 2) {
    const [flag, value] = [flags[i], flags[i + 1]];
    if (value === undefined) usage(`missing value for ${flag}`);
    if (flag === '--port') opts.port = Number(value);
    else if (flag === '--port-file') opts.portFile = value;
    else if (flag === '--idle-ms') opts.idleMs = Number(value);
    else if (flag === '--max-sessions') opts.maxSessions = Number(value);
    else if (flag === '--max-lifetime-ms') opts.maxLifetimeMs = Number(value);
    else if (flag === '--cwd') opts.cwd = value;
    else usage(`unknown flag ${flag}`);
  }
  const command = argv.slice(sep + 1);
  // The child runs in --cwd, so a relative command path is resolved against our own cwd first.
  if (command[0].includes('/') && !path.isAbsolute(command[0])) command[0] = path.resolve(command[0]);
  return { opts, command };
}

function usage(msg) {
  console.error(`stdio_http_bridge: ${msg}\nusage: stdio_http_bridge.mjs [--port N] [--port-file F] [--idle-ms MS] ` +
    '[--max-sessions N] [--max-lifetime-ms MS] [--cwd DIR] -- <command> [args...]');
  process.exit(2);
}

const { opts, command } = parseArgs(process.argv.slice(2));
const MAX_LINE_BYTES = 64 * 1024 * 1024; // a longer stdout line is a runaway child, not a message
const MAX_BODY_BYTES = 16 * 1024 * 1024; // a session-less POST body is read here before routing
const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const sessions = new Map(); // session id -> Session (legacy)
const failures = { framing: [], childExit: [] };
const log = (msg) => process.stderr.write(`[bridge] ${msg}\n`);

// One stdio child: spawns it, splits its stdout into JSON-RPC messages (any other line is a
// framing failure), writes messages to its stdin and stops it within a bounded time.
class Child {
  constructor(tag, onMessage, onGone) {
    this.tag = tag;
    this.onMessage = onMessage;
    this.onGone = onGone; // called once if the child ends without being asked to
    this.closing = false;
    this.stdoutBuf = '';
  }

  spawn() {
    const child = spawn(command[0], command.slice(1), { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = child;
    this.tag = `${this.tag} pid ${child.pid}`;
    log(`${this.tag}: started`);
    child.on('error', (err) => this.gone(`${this.tag}: spawn failed: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (!this.closing) this.gone(`${this.tag}: exited by itself (code ${code}, signal ${signal})`);
    });
    child.stdin.on('error', (err) => log(`${this.tag}: stdin: ${err.message}`));
    child.stderr.on('data', (chunk) => process.stderr.write(chunk)); // server logs, kept for the run log
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => this.onStdout(chunk));
  }

  gone(why) {
    if (this.isGone) return;
    this.isGone = true;
    failures.childExit.push(why);
    log(`FAIL child-exit: ${why}`);
    this.onGone(why);
  }

  // Splits on '\n' only: the stdio transport is newline-delimited JSON and nothing else.
  onStdout(chunk) {
    this.stdoutBuf += chunk;
    if (this.stdoutBuf.length > MAX_LINE_BYTES) {
      this.framingError(`stdout line longer than ${MAX_LINE_BYTES} bytes without a newline`);
      this.stdoutBuf = '';
      return;
    }
    const lines = this.stdoutBuf.split('\n');
    this.stdoutBuf = lines.pop();
    for (const line of lines) this.onLine(line);
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return this.framingError(`non-JSON line on stdout: ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || msg.jsonrpc !== '2.0') {
      return this.framingError(`stdout line is JSON but not a JSON-RPC 2.0 message: ${line.slice(0, 200)}`);
    }
    this.onMessage(msg);
  }

  framingError(what) {
    const line = `stdio-framing: ${this.tag}: ${what}`;
    failures.framing.push(line);
    log(`FAIL ${line}`);
  }

  send(msg) {
    if (this.proc?.stdin.writable) this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  // Bounded shutdown: EOF on stdin, SIGTERM after 2 s, SIGKILL after 5 s.
  close() {
    if (this.closing) return;
    this.closing = true;
    const child = this.proc;
    if (!child || this.exited()) return;
    child.stdin.end();
    const term = setTimeout(() => child.kill('SIGTERM'), 2000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(term); clearTimeout(kill); });
  }

  exited() {
    return !this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy: one SDK transport and one child per HTTP session.

class Session {
  constructor(transport) {
    this.transport = transport;
    this.inflight = new Map(); // client request id -> progressToken; insertion order = age
    this.lastActivity = Date.now();
    this.closing = false;
  }

  // Called once the SDK has accepted an `initialize`; the child exists before any message arrives.
  spawnChild() {
    this.child = new Child(`session ${this.transport.sessionId}`, (msg) => this.fromChild(msg), () => this.childGone());
    this.child.spawn();
    log(`session ${this.transport.sessionId}: ${sessions.size} open`);
  }

  fromChild(msg) {
    this.lastActivity = Date.now();
    const isResponse = msg.method === undefined && msg.id !== undefined;
    let related;
    if (isResponse) {
      this.inflight.delete(msg.id);
    } else {
      related = this.relatedRequest(msg);
    }
    this.transport.send(msg, related === undefined ? {} : { relatedRequestId: related }).catch((err) => {
      log(`${this.child.tag}: could not deliver ${msg.method ?? `response ${JSON.stringify(msg.id)}`}: ${err.message}`);
    });
  }

  // Server notifications/requests go to the SSE stream of the request they belong to: the one
  // whose progressToken they carry, else the newest in-flight request, else the GET stream.
  relatedRequest(msg) {
    const token = msg.params?.progressToken;
    if (token !== undefined) {
      for (const [id, t] of this.inflight) if (t === token) return id;
    }
    let newest;
    for (const id of this.inflight.keys()) newest = id;
    return newest;
  }

  // A message from the HTTP client: remember requests, forget cancelled ones, pass it on.
  fromClient(msg) {
    this.lastActivity = Date.now();
    if (msg.method !== undefined && msg.id !== undefined) this.inflight.set(msg.id, msg.params?._meta?.progressToken);
    if (msg.method === 'notifications/cancelled') this.inflight.delete(msg.params?.requestId);
    this.child?.send(msg);
  }

  // The child died without being asked: answer its open requests so the client does not hang.
  childGone() {
    for (const id of this.inflight.keys()) {
      this.transport.send({ jsonrpc: '2.0', id, error: { code: -32603, message: `bridge: the server process ended` } })
        .catch(() => {});
    }
    this.inflight.clear();
    this.close();
  }

  close() {
    if (this.closing) return;
    this.closing = true;
    sessions.delete(this.transport.sessionId);
    log(`session ${this.transport.sessionId}: closed (${sessions.size} open)`);
    this.transport.close().catch(() => {});
    this.child?.close();
  }

  childExited() {
    return !this.child || this.child.exited();
  }
}

// ---------------------------------------------------------------------------------------------
// Modern: one child for every stateless request.

// A header value as era.cc reads it: trimmed of spaces and tabs, "=?base64?...?=" decoded.
// undefined when absent or when the encoding is broken.
function modernHeader(req, name) {
  const raw = req.headers[name.toLowerCase()];
  if (raw === undefined) return undefined;
  const v = String(raw).replace(/^[ \t]+|[ \t]+$/g, '');
  const prefix = '=?base64?', suffix = '?=';
  if (v.length < prefix.length + suffix.length || !v.startsWith(prefix) || !v.endsWith(suffix)) return v;
  const b64 = v.slice(prefix.length, v.length - suffix.length);
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

// The header checks of a modern POST (SEP-2243), as era.cc CheckModernHeaders does them: the
// -32020 error message, or null when the headers match the body.
function checkModernHeaders(msg, req) {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return null;
  const str = (o, k) => (o !== null && typeof o === 'object' && typeof o[k] === 'string' ? o[k] : '');
  const method = str(msg, 'method');
  const params = msg.params !== null && typeof msg.params === 'object' && !Array.isArray(msg.params) ? msg.params : {};
  const meta = params._meta;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta) && META_PROTOCOL_VERSION in meta) {
    const body = str(meta, META_PROTOCOL_VERSION);
    const h = modernHeader(req, 'MCP-Protocol-Version');
    if (h === undefined) {
      return `Header mismatch: the MCP-Protocol-Version header is missing; send it with the value of _meta "${META_PROTOCOL_VERSION}" (${body})`;
    }
    if (h !== body) return `Header mismatch: MCP-Protocol-Version is "${h}" but _meta says "${body}"; send the same version in both`;
  }
  if (method === '' || !('id' in msg)) return null; // a notification or response: no Mcp-Method
  const m = modernHeader(req, 'Mcp-Method');
  if (m === undefined) return `Header mismatch: the Mcp-Method header is missing; send Mcp-Method: ${method}`;
  if (m !== method) return `Header mismatch: Mcp-Method is "${m}" but the body's method is "${method}"`;
  const field = method === 'tools/call' || method === 'prompts/get' ? 'name' : method === 'resources/read' ? 'uri' : null;
  if (field === null) return null;
  const want = str(params, field);
  const n = modernHeader(req, 'Mcp-Name');
  if (n === undefined) return `Header mismatch: the Mcp-Name header is missing; send Mcp-Name: ${want} (params.${field})`;
  if (n !== want) return `Header mismatch: Mcp-Name is "${n}" but params.${field} is "${want}"`;
  return null;
}

// era.cc ModernHttpStatus: the HTTP status of an error answer to a modern request.
function modernHttpStatus(code) {
  if (code === -32601) return 404;
  if ([-32602, -32600, -32700, -32020, -32021, -32022].includes(code)) return 400;
  return 200;
}

const usableId = (id) => typeof id === 'string' || Number.isInteger(id);

class ModernHub {
  constructor() {
    this.calls = new Map(); // rewritten id -> Call; insertion order = age
    this.seq = 0;
  }

  childFor() {
    if (!this.child || this.child.isGone || this.child.closing) {
      this.child = new Child('stateless', (msg) => this.fromChild(msg), () => this.childGone());
      this.child.spawn();
    }
    return this.child;
  }

  // Serves one parsed session-less POST body that is not a legacy initialize.
  handle(req, res, msg) {
    // A batch has no use in 2026-07-28; the server refuses it too (batches exist only in
    // 2025-03-26), with an id-less error no concurrent POST could be told apart by.
    if (Array.isArray(msg)) {
      return jsonRpcError(res, 400, null, -32600, 'Invalid request: JSON-RPC batches are only allowed in protocol version 2025-03-26; send one message at a time');
    }
    const mismatch = checkModernHeaders(msg, req);
    if (mismatch !== null) return jsonRpcError(res, 400, usableId(msg?.id) ? msg.id : null, -32020, mismatch);
    const isObject = msg !== null && typeof msg === 'object';
    if (isObject && msg.jsonrpc === '2.0' && typeof msg.method === 'string' && !('id' in msg)) {
      // A notification: only cancellation means anything to a stateless server, and it names
      // the request by the id the client gave it.
      let out = msg;
      if (msg.method === 'notifications/cancelled') {
        const call = this.newest((c) => c.origId === msg.params?.requestId);
        if (!call) return accepted(res);
        out = { ...msg, params: { ...msg.params, requestId: call.id } };
      }
      this.childFor().send(out);
      return accepted(res);
    }
    if (isObject && msg.method === undefined && 'id' in msg && ('result' in msg || 'error' in msg)) {
      this.childFor().send(msg); // a response to no request of a stateless server: it drops it
      return accepted(res);
    }
    if (!isObject || !usableId(msg.id)) {
      // The server would answer with id null, which could not be routed back to this POST.
      return jsonRpcError(res, 400, null, -32600, 'Invalid request: not a JSON-RPC 2.0 request with a string or integer id');
    }
    const call = {
      id: `bridge-${++this.seq}`,
      origId: msg.id,
      res,
      method: typeof msg.method === 'string' ? msg.method : '',
      progressToken: msg.params?._meta?.progressToken,
      streaming: false,
      done: false,
    };
    this.calls.set(call.id, call);
    // Closing the response before it is complete cancels the request (2026-07-28 Streamable
    // HTTP); 'close' also follows a normal end, which `done` tells apart.
    res.on('close', () => {
      if (call.done) return;
      call.done = true;
      this.calls.delete(call.id);
      this.child?.send({ jsonrpc: '2.0', method: 'notifications/cancelled',
        params: { requestId: call.id, reason: 'the client closed the response stream' } });
    });
    this.childFor().send({ ...msg, id: call.id });
  }

  newest(pred) {
    let found;
    for (const c of this.calls.values()) if (pred(c)) found = c;
    return found;
  }

  fromChild(msg) {
    if (msg.method === undefined && msg.id !== undefined) {
      const call = this.calls.get(msg.id);
      if (!call) return log(`stateless: dropping a response to no open request: ${JSON.stringify(msg.id)}`);
      const out = { ...msg, id: call.origId };
      if (out.result?._meta?.[META_SUBSCRIPTION_ID] === call.id) {
        out.result = { ...out.result, _meta: { ...out.result._meta, [META_SUBSCRIPTION_ID]: call.origId } };
      }
      return this.finish(call, out);
    }
    let call;
    let out = msg;
    const sub = msg.params?._meta?.[META_SUBSCRIPTION_ID];
    if (sub !== undefined) {
      call = this.calls.get(sub);
      if (call) out = { ...msg, params: { ...msg.params, _meta: { ...msg.params._meta, [META_SUBSCRIPTION_ID]: call.origId } } };
    } else if (msg.method === 'notifications/progress' && msg.params?.progressToken !== undefined) {
      call = this.newest((c) => c.progressToken === msg.params.progressToken);
    } else {
      const candidates = [...this.calls.values()].filter((c) => c.method !== 'subscriptions/listen');
      call = candidates[candidates.length - 1];
    }
    if (!call) return log(`stateless: dropping ${msg.method}: no open request it belongs to`);
    this.emit(call, out);
  }

  // A message before the response: the answer becomes an SSE stream.
  emit(call, msg) {
    if (!call.streaming) {
      call.streaming = true;
      call.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    }
    call.res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`);
  }

  finish(call, msg) {
    this.calls.delete(call.id);
    if (call.streaming) {
      this.emit(call, msg);
      call.done = true;
      call.res.end();
      return;
    }
    call.done = true;
    const status = msg.error ? modernHttpStatus(msg.error.code) : 200;
    call.res.writeHead(status, { 'Content-Type': 'application/json' });
    call.res.end(JSON.stringify(msg));
  }

  // The child died without being asked: answer the open requests so the clients do not hang; the
  // next request starts a new child (the run has failed already).
  childGone() {
    for (const call of [...this.calls.values()]) {
      this.finish(call, { jsonrpc: '2.0', id: call.origId, error: { code: -32603, message: 'bridge: the server process ended' } });
    }
  }

  close() {
    this.child?.close();
  }

  childExited() {
    return !this.child || this.child.exited();
  }
}

const modern = new ModernHub();

function jsonRpcError(res, status, id, code, message, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }));
}

function accepted(res) {
  res.writeHead(202);
  res.end();
}

// DNS-rebinding protection: only loopback Host and Origin values are accepted.
function loopbackOnly(req, port) {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (!hosts.includes(req.headers.host ?? '')) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(origin).hostname);
  } catch {
    return false;
  }
}

// Reads a request body of at most MAX_BODY_BYTES; null when it is larger.
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const accepts = (accept, type) => accept.includes(type) || accept.includes('*/*');

// Whether a session-less message opens a legacy session: an `initialize` without the modern
// protocol version in `_meta` (era.cc ServedAsModern).
function isLegacyInitialize(msg) {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || msg.method !== 'initialize') return false;
  const meta = msg.params?._meta;
  return !(meta !== null && typeof meta === 'object' && META_PROTOCOL_VERSION in meta);
}

async function handle(req, res) {
  if (!loopbackOnly(req, server.address().port)) return jsonRpcError(res, 403, null, -32000, 'Forbidden: non-loopback Host or Origin');
  if (new URL(req.url, 'http://127.0.0.1').pathname !== '/mcp') return jsonRpcError(res, 404, null, -32000, 'Not found: use /mcp');
  const sid = req.headers['mcp-session-id'];
  if (sid !== undefined) {
    const session = sessions.get(sid);
    if (!session) return jsonRpcError(res, 404, null, -32001, 'Session not found');
    session.lastActivity = Date.now();
    return session.transport.handleRequest(req, res);
  }
  if (req.method === 'GET' || req.method === 'DELETE') {
    return jsonRpcError(res, 405, null, -32600,
      `Method Not Allowed: ${req.method} needs the Mcp-Session-Id of a session that initialize opened; ` +
      'without one, POST requests (2026-07-28 clients subscribe with subscriptions/listen)', { Allow: 'POST' });
  }
  if (req.method !== 'POST') return jsonRpcError(res, 405, null, -32600, 'Method Not Allowed', { Allow: 'GET, POST, DELETE' });
  const accept = req.headers.accept ?? '';
  if (!accepts(accept, 'application/json') || !accepts(accept, 'text/event-stream')) {
    return jsonRpcError(res, 406, null, -32600, 'Not Acceptable: the client must accept both application/json and text/event-stream');
  }
  if (!(req.headers['content-type'] ?? '').includes('application/json')) {
    return jsonRpcError(res, 415, null, -32600, 'Unsupported Media Type: POST bodies are application/json');
  }
  const text = await readBody(req);
  if (text === null) return jsonRpcError(res, 413, null, -32600, `Payload Too Large: at most ${MAX_BODY_BYTES} bytes`);
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return jsonRpcError(res, 400, null, -32700, 'Parse error: the body is not valid JSON');
  }
  if (!isLegacyInitialize(msg)) return modern.handle(req, res, msg);
  if (sessions.size >= opts.maxSessions) return jsonRpcError(res, 503, null, -32000, `Too many sessions (max ${opts.maxSessions})`);
  // A legacy initialize gets a fresh transport; the SDK decides whether it is valid (then
  // onsessioninitialized spawns the child) or answers the error itself.
  let session;
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    onsessioninitialized: (id) => { sessions.set(id, session); session.spawnChild(); },
  });
  session = new Session(transport);
  transport.onmessage = (m) => session.fromClient(m);
  transport.onclose = () => session.close();
  transport.onerror = (err) => log(`session ${transport.sessionId ?? '(new)'}: ${err.message}`);
  await transport.start();
  await transport.handleRequest(req, res, msg);
  if (transport.sessionId === undefined) await transport.close();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    log(`request failed: ${err.stack ?? err}`);
    if (!res.headersSent) jsonRpcError(res, 500, null, -32603, 'bridge internal error');
  });
});

// Idle legacy sessions (no traffic, nothing in flight) are closed; checked every few seconds.
// The stateless child lives as long as the bridge.
const sweeper = setInterval(() => {
  const now = Date.now();
  for (const s of [...sessions.values()]) {
    if (s.inflight.size === 0 && now - s.lastActivity > opts.idleMs) {
      log(`session ${s.transport.sessionId}: idle for ${opts.idleMs} ms, closing`);
      s.close();
    }
  }
}, Math.min(5000, opts.idleMs));

let shuttingDown = false;
async function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`shutting down (${reason})`);
  clearInterval(sweeper);
  const open = [...sessions.values()];
  for (const s of open) s.close();
  modern.close();
  server.close();
  server.closeAllConnections?.();
  // Wait at most 6 s (past the SIGKILL deadline in close()) for the children to go.
  const running = () => open.some((s) => !s.childExited()) || !modern.childExited();
  for (let i = 0; i < 60 && running(); i++) await new Promise((r) => setTimeout(r, 100));
  for (const f of failures.framing) console.error(`FAIL ${f}`);
  for (const f of failures.childExit) console.error(`FAIL child-exit: ${f}`);
  const failed = failures.framing.length + failures.childExit.length > 0;
  log(failed ? 'finished with failures' : 'finished: stdio framing clean, no child died on its own');
  process.exit(failed ? 1 : 0);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
setTimeout(() => shutdown(`max lifetime ${opts.maxLifetimeMs} ms`), opts.maxLifetimeMs).unref();

server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  log(`listening on http://127.0.0.1:${port}/mcp, child: ${JSON.stringify(command)}`);
  if (opts.portFile) {
    // Written atomically so a poller never reads a half-written number.
    fs.writeFileSync(`${opts.portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${opts.portFile}.tmp`, opts.portFile);
  }
});
