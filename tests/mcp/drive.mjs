// Drives `imagegen mcp` with the official MCP TypeScript SDK's client, for
// tests/test_87_mcp.py. The binary, its arguments and its environment come
// from IMAGEGEN_MCP (a JSON array: [binary, ...args]) and the process
// environment. Each step's outcome is one JSON line on stdout; the test
// asserts on those lines, the files and the stand-in's requests.
//
//   node drive.mjs list
//   node drive.mjs call NAME ARGS_JSON [NAME ARGS_JSON ...]   (all at once)
//   node drive.mjs cancel NAME ARGS_JSON   (aborts when a line comes on stdin,
//                                           then pings and calls list_models)
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [command, ...rest] = process.argv.slice(2);
const [binary, ...args] = JSON.parse(process.env.IMAGEGEN_MCP);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function call(client, name, argsJson, signal) {
  const progress = [];
  try {
    const result = await client.callTool(
      { name, arguments: JSON.parse(argsJson) }, undefined,
      { onprogress: (p) => progress.push(p), signal, timeout: 120000 });
    return { name, result, progress };
  } catch (e) {
    return { name, error: { code: e.code ?? null, message: String(e.message) }, progress };
  }
}

const transport = new StdioClientTransport({
  command: binary, args, env: process.env, stderr: 'inherit',
});
const client = new Client({ name: 'imagegen-tests', version: '1.0.0' });
await client.connect(transport);
out({ server: client.getServerVersion(), capabilities: client.getServerCapabilities(),
      instructions: client.getInstructions() });

if (command === 'list') {
  out(await client.listTools());
} else if (command === 'call') {
  const calls = [];
  for (let i = 0; i < rest.length; i += 2)
    calls.push(call(client, rest[i], rest[i + 1]));
  for (const r of await Promise.all(calls))
    out(r);
} else if (command === 'cancel') {
  const abort = new AbortController();
  const pending = call(client, rest[0], rest[1], abort.signal);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    abort.abort('the test gave up');
    break;
  }
  out(await pending);
  // The server goes on serving after a cancel.
  await client.ping();
  out(await call(client, 'list_models', '{}'));
} else {
  throw new Error(`unknown command ${command}`);
}
await client.close();
