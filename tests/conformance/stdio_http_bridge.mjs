#!/usr/bin/env node
// stdio <-> Streamable HTTP bridge, so the conformance suite (HTTP only) can test a stdio server.
//
//   node stdio_http_bridge.mjs [--port N] [--port-file F] [--idle-ms MS] [--max-sessions N]
//                              [--max-lifetime-ms MS] [--cwd DIR] -- <command> [args...]
//
// Each HTTP session (each accepted `initialize`) spawns a fresh `command` (argv, no shell) and
// forwards JSON-RPC messages both ways. Binds 127.0.0.1 only.
//
// Why the SDK's StreamableHTTPServerTransport instead of plain node:http: it is the reference
// implementation of the HTTP side (session ids, SSE framing, 404 after DELETE, protocol-version
// header, Accept checks, body limits). Reusing it keeps this file small and means a stdio run's
// failures come from the child's JSON-RPC behaviour, not from a home-made HTTP layer. The cost:
// messages are parsed and re-serialized, so content is preserved but not bytes (whitespace, key
// order), and a POST that is not valid JSON-RPC gets the SDK's HTTP 400 instead of reaching the
// child. Stdio-level error handling (parse errors etc.) is therefore not tested through here.
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
const sessions = new Map(); // session id -> Session
const failures = { framing: [], childExit: [] };
const log = (msg) => process.stderr.write(`[bridge] ${msg}\n`);

class Session {
  constructor(transport) {
    this.transport = transport;
    this.inflight = new Map(); // client request id -> progressToken; insertion order = age
    this.lastActivity = Date.now();
    this.closing = false;
    this.stdoutBuf = '';
  }

  // Called once the SDK has accepted an `initialize`; the child exists before any message arrives.
  spawnChild() {
    const child = spawn(command[0], command.slice(1), { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    const tag = `session ${this.transport.sessionId} pid ${child.pid}`;
    log(`${tag}: started (${sessions.size} open)`);
    child.on('error', (err) => this.childGone(`${tag}: spawn failed: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (!this.closing) this.childGone(`${tag}: exited by itself (code ${code}, signal ${signal})`);
    });
    child.stdin.on('error', (err) => log(`${tag}: stdin: ${err.message}`));
    child.stderr.on('data', (chunk) => process.stderr.write(chunk)); // server logs, kept for the run log
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => this.onStdout(chunk, tag));
  }

  // Splits on '\n' only: the stdio transport is newline-delimited JSON and nothing else.
  onStdout(chunk, tag) {
    this.lastActivity = Date.now();
    this.stdoutBuf += chunk;
    if (this.stdoutBuf.length > MAX_LINE_BYTES) {
      this.framingError(tag, `stdout line longer than ${MAX_LINE_BYTES} bytes without a newline`);
      this.stdoutBuf = '';
      return;
    }
    const lines = this.stdoutBuf.split('\n');
    this.stdoutBuf = lines.pop();
    for (const line of lines) this.onLine(line, tag);
  }

  onLine(line, tag) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return this.framingError(tag, `non-JSON line on stdout: ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || msg.jsonrpc !== '2.0') {
      return this.framingError(tag, `stdout line is JSON but not a JSON-RPC 2.0 message: ${line.slice(0, 200)}`);
    }
    const isResponse = msg.method === undefined && msg.id !== undefined;
    let related;
    if (isResponse) {
      this.inflight.delete(msg.id);
    } else {
      related = this.relatedRequest(msg);
    }
    this.transport.send(msg, related === undefined ? {} : { relatedRequestId: related }).catch((err) => {
      log(`${tag}: could not deliver ${msg.method ?? `response ${JSON.stringify(msg.id)}`}: ${err.message}`);
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
    if (this.child?.stdin.writable) this.child.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  framingError(tag, what) {
    const line = `stdio-framing: ${tag}: ${what}`;
    failures.framing.push(line);
    log(`FAIL ${line}`);
  }

  // The child died without being asked: answer its open requests so the client does not hang.
  childGone(why) {
    failures.childExit.push(why);
    log(`FAIL child-exit: ${why}`);
    for (const id of this.inflight.keys()) {
      this.transport.send({ jsonrpc: '2.0', id, error: { code: -32603, message: `bridge: ${why}` } }).catch(() => {});
    }
    this.inflight.clear();
    this.close();
  }

  // Bounded shutdown: EOF on stdin, SIGTERM after 2 s, SIGKILL after 5 s.
  close() {
    if (this.closing) return;
    this.closing = true;
    sessions.delete(this.transport.sessionId);
    log(`session ${this.transport.sessionId}: closed (${sessions.size} open)`);
    this.transport.close().catch(() => {});
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const term = setTimeout(() => child.kill('SIGTERM'), 2000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(term); clearTimeout(kill); });
  }

  childExited() {
    return !this.child || this.child.exitCode !== null || this.child.signalCode !== null;
  }
}

function jsonError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
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

async function handle(req, res) {
  if (!loopbackOnly(req, server.address().port)) return jsonError(res, 403, -32000, 'Forbidden: non-loopback Host or Origin');
  if (new URL(req.url, 'http://127.0.0.1').pathname !== '/mcp') return jsonError(res, 404, -32000, 'Not found: use /mcp');
  const sid = req.headers['mcp-session-id'];
  if (sid !== undefined) {
    const session = sessions.get(sid);
    if (!session) return jsonError(res, 404, -32001, 'Session not found');
    session.lastActivity = Date.now();
    return session.transport.handleRequest(req, res);
  }
  if (req.method !== 'POST') return jsonError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
  if (sessions.size >= opts.maxSessions) return jsonError(res, 503, -32000, `Too many sessions (max ${opts.maxSessions})`);
  // A session-less POST gets a fresh transport; the SDK decides whether it is a valid initialize
  // (then onsessioninitialized spawns the child) or answers the error itself.
  let session;
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    onsessioninitialized: (id) => { sessions.set(id, session); session.spawnChild(); },
  });
  session = new Session(transport);
  transport.onmessage = (msg) => session.fromClient(msg);
  transport.onclose = () => session.close();
  transport.onerror = (err) => log(`session ${transport.sessionId ?? '(new)'}: ${err.message}`);
  await transport.start();
  await transport.handleRequest(req, res);
  if (transport.sessionId === undefined) await transport.close();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    log(`request failed: ${err.stack ?? err}`);
    if (!res.headersSent) jsonError(res, 500, -32603, 'bridge internal error');
  });
});

// Idle sessions (no traffic, nothing in flight) are closed; checked every few seconds.
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
  server.close();
  server.closeAllConnections?.();
  // Wait at most 6 s (past the SIGKILL deadline in close()) for the children to go.
  for (let i = 0; i < 60 && open.some((s) => !s.childExited()); i++) await new Promise((r) => setTimeout(r, 100));
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
