// A server that costs (almost) nothing, for the benchmarks: the generations
// endpoint answered with a response built once per (size, n) from a prebuilt
// PNG, after a configurable latency. It does none of the stand-in's checking or
// drawing, so a benchmark against it measures the client, not the server.
//
//   node fast_server.mjs --port-file F --key K --image 1024x1024=a.png [...]
//
// POST /v1/images/generations  needs "Authorization: Bearer K"; answers 200 with
//                              the image for the body's "size" (and "n") after
//                              the latency, 400 for a size it has no image for
// POST /_control/reset         zero the counts, latency 0
// POST /_control/config        {"latency": seconds}
// GET  /_control/stats         {"requests", "statuses", "peak_inflight"}
//
// Listens on 127.0.0.1 only, on an ephemeral port written to the port file.
import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";

function parseArgs(argv) {
  const args = { images: new Map(), key: "", portFile: "" };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--port-file") args.portFile = value;
    else if (flag === "--key") args.key = value;
    else if (flag === "--image") {
      const [size, path] = value.split("=", 2);
      args.images.set(size, readFileSync(path).toString("base64"));
    } else throw new Error(`unknown option ${flag}`);
  }
  if (!args.portFile || !args.key || args.images.size === 0)
    throw new Error("usage: fast_server.mjs --port-file F --key K --image WxH=PATH ...");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const built = new Map(); // "size n" -> Buffer
let latency = 0, requests = 0, inflight = 0, peak = 0, statuses = {};

function imagesResponse(size, n) {
  const id = `${size} ${n}`;
  if (!built.has(id)) {
    const item = { b64_json: args.images.get(size) };
    built.set(id, Buffer.from(JSON.stringify({
      created: Math.floor(Date.now() / 1000),
      data: Array.from({ length: n }, () => item),
      background: "opaque", output_format: "png", quality: "medium", size,
      usage: {
        input_tokens: 12, input_tokens_details: { text_tokens: 12, image_tokens: 0 },
        output_tokens: 1056 * n, output_tokens_details: { image_tokens: 1056 * n, text_tokens: 0 },
        total_tokens: 12 + 1056 * n,
      },
    })));
  }
  return built.get(id);
}

function send(res, status, body) {
  statuses[status] = (statuses[status] || 0) + 1;
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

function apiError(res, status, message, code) {
  send(res, status, Buffer.from(JSON.stringify({
    error: { message, type: "invalid_request_error", param: null, code },
  })));
}

function generate(req, res, raw) {
  if (req.headers.authorization !== `Bearer ${args.key}`)
    return apiError(res, 401, "Incorrect API key provided.", "invalid_api_key");
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return apiError(res, 400, "We could not parse the JSON body of your request.", null);
  }
  const size = body.size || "1024x1024", n = body.n || 1;
  if (!args.images.has(size))
    return apiError(res, 400, `this server has no image of size ${size}`, "invalid_value");
  requests++;
  peak = Math.max(peak, ++inflight);
  const answer = () => { inflight--; send(res, 200, imagesResponse(size, n)); };
  if (latency > 0) setTimeout(answer, latency * 1000);
  else answer();
}

function control(req, res, raw) {
  if (req.url === "/_control/stats")
    return send(res, 200, Buffer.from(JSON.stringify({ requests, statuses, peak_inflight: peak })));
  if (req.url === "/_control/reset") {
    latency = 0; requests = 0; peak = 0; statuses = {};
  } else if (req.url === "/_control/config") {
    const knobs = JSON.parse(raw || "{}");
    for (const name of Object.keys(knobs))
      if (name !== "latency") return apiError(res, 400, `unknown knob ${name}`, null);
    if ("latency" in knobs) latency = Number(knobs.latency);
  } else return apiError(res, 404, `no such control ${req.url}`, null);
  send(res, 200, Buffer.from("null"));
}

const server = createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString();
    if (req.url.startsWith("/_control/")) control(req, res, raw);
    else if (req.method === "POST" && req.url === "/v1/images/generations") generate(req, res, raw);
    else apiError(res, 404, `Invalid URL (${req.method} ${req.url})`, null);
  });
});
server.listen(0, "127.0.0.1", () => writeFileSync(args.portFile, `${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));
