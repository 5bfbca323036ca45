// Baseline server for the benchmark: the official TypeScript SDK (McpServer +
// registerTool) exposing the conformance fixture tool `test_simple_text`, so
// mcp_bench can run the same workload against it and against our C++ server.
//
//   node bench/ts_sdk_server.mjs --stdio
//   node bench/ts_sdk_server.mjs --http --port N [--port-file PATH] [--sse]
//   node bench/ts_sdk_server.mjs --http N            (short form)
//
// HTTP: Streamable HTTP on 127.0.0.1 at /mcp, stateful sessions (one McpServer
// + transport per session, as the SDK examples do), plain node:http so that no
// framework cost is added to the SDK's own. JSON responses unless --sse.
// `--port 0` picks a free port; the port file is written (atomically) once the
// socket listens, so scripts never race or clash on ports.

import {randomUUID} from 'node:crypto';
import {writeFileSync, renameSync} from 'node:fs';
import {createServer} from 'node:http';

import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js';
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js';
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js';

// Same text as the upstream conformance fixture (everything-server).
const kSimpleText = 'This is a simple text response for testing.';

function usage(msg) {
  if (msg) process.stderr.write(`ts_sdk_server: ${msg}\n`);
  process.stderr.write(
      'usage: ts_sdk_server.mjs --stdio | --http [--port] N [--port-file PATH] [--sse]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {mode: null, port: null, portFile: null, sse: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stdio') {
      o.mode = 'stdio';
    } else if (a === '--http') {
      o.mode = 'http';
      // Short form `--http PORT` (the form used in perf-baseline.md).
      if (i + 1 < argv.length && /^\d+$/.test(argv[i + 1])) o.port = Number(argv[++i]);
    } else if (a === '--port' && i + 1 < argv.length) {
      o.port = Number(argv[++i]);
    } else if (a === '--port-file' && i + 1 < argv.length) {
      o.portFile = argv[++i];
    } else if (a === '--sse') {
      o.sse = true;
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  if (!o.mode) usage('need --stdio or --http');
  if (o.mode === 'http' && !(Number.isInteger(o.port) && o.port >= 0 && o.port < 65536)) {
    usage('need --port N (0 = any free port)');
  }
  return o;
}

function newServer() {
  const server = new McpServer({name: 'ts-sdk-bench-server', version: '1.0.0'});
  server.registerTool(
      'test_simple_text',
      {description: 'Tests simple text content response'},
      async () => ({content: [{type: 'text', text: kSimpleText}]}));
  return server;
}

async function runStdio() {
  await newServer().connect(new StdioServerTransport());
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendError(res, status, message) {
  res.writeHead(status, {'Content-Type': 'application/json'});
  res.end(JSON.stringify({jsonrpc: '2.0', error: {code: -32000, message}, id: null}));
}

async function runHttp(opts) {
  const transports = new Map();  // Mcp-Session-Id -> transport

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/mcp') return sendError(res, 404, 'Not found');
    const sid = req.headers['mcp-session-id'];
    let body;
    if (req.method === 'POST') {
      // Parsed here (like express.json() in the SDK examples) because the
      // initialize check needs it; the transport then skips its own parse.
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return sendError(res, 400, 'Parse error');
      }
    }
    let transport = sid ? transports.get(sid) : undefined;
    if (sid && !transport) return sendError(res, 404, 'Session not found');
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(body)) {
        return sendError(res, 400, 'No valid session ID provided');
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: !opts.sse,
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => {
        if (transport.sessionId) transports.delete(transport.sessionId);
      };
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`ts_sdk_server: ${err?.stack ?? err}\n`);
      if (!res.headersSent) sendError(res, 500, 'Internal error');
    });
  });
  // No idle keep-alive cut-off: the driver's connections are long-lived.
  http.keepAliveTimeout = 0;
  http.listen(opts.port, '127.0.0.1', () => {
    const port = http.address().port;
    if (opts.portFile) {
      const tmp = `${opts.portFile}.tmp${process.pid}`;
      writeFileSync(tmp, `${port}\n`);
      renameSync(tmp, opts.portFile);
    }
    process.stderr.write(`ts_sdk_server: listening on http://127.0.0.1:${port}/mcp\n`);
  });
  // Exit at once: open keep-alive connections would hold http.close() back.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

const opts = parseArgs(process.argv.slice(2));
if (opts.mode === 'stdio') {
  await runStdio();
} else {
  await runHttp(opts);
}
