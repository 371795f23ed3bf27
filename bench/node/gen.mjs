#!/usr/bin/env node
// Peer client for the imagegen benchmarks (issue 6): what a user would write on
// the official OpenAI Node SDK. Reads prompts (one per line) and generates each
// with client.images.generate under a small promise pool, decoding b64_json into
// NN-slug.png files in the output folder.
//
//   node gen.mjs --prompts FILE --out-dir DIR [--concurrency N] [--size WxH]
//                [--model M] [--quality Q] [--output-format png|jpeg|webp]
//   node gen.mjs --prompt TEXT --out-dir DIR ...      (one image)
//
// Environment: OPENAI_BASE_URL, OPENAI_API_KEY. Exit status 0 when every image
// was saved, 1 when any failed, 2 on bad usage.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';

function usage(message) {
  if (message) process.stderr.write(`gen.mjs: ${message}\n`);
  process.stderr.write(
    'usage: node gen.mjs (--prompts FILE | --prompt TEXT) --out-dir DIR ' +
      '[--concurrency N] [--size WxH] [--model M] [--quality Q] [--output-format F]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    prompts: null,
    prompt: null,
    outDir: null,
    concurrency: 5,
    size: '1024x1024',
    model: 'gpt-image-2',
    quality: 'medium',
    outputFormat: 'png',
  };
  const names = {
    '--prompts': 'prompts',
    '--prompt': 'prompt',
    '--out-dir': 'outDir',
    '--concurrency': 'concurrency',
    '--size': 'size',
    '--model': 'model',
    '--quality': 'quality',
    '--output-format': 'outputFormat',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const key = names[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    options[key] = argv[(i += 1)];
  }
  options.concurrency = Number.parseInt(options.concurrency, 10);
  if (!(options.concurrency >= 1)) usage('--concurrency must be a positive integer');
  if (!options.outDir) usage('--out-dir is required');
  if ((options.prompts === null) === (options.prompt === null)) {
    usage('give exactly one of --prompts and --prompt');
  }
  return options;
}

function slug(text) {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return s || 'image';
}

// Runs task(item, index) for every item with at most `limit` in flight.
async function pool(items, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const prompts =
    options.prompt !== null
      ? [options.prompt]
      : (await readFile(options.prompts, 'utf8')).split('\n').filter((line) => line.trim());
  await mkdir(options.outDir, { recursive: true });

  const client = new OpenAI({
    baseURL: process.env.OPENAI_BASE_URL,
    apiKey: process.env.OPENAI_API_KEY,
    maxRetries: 2,
  });
  const width = Math.max(2, String(prompts.length).length);
  const extension = options.outputFormat === 'jpeg' ? 'jpg' : options.outputFormat;
  let failed = 0;

  await pool(prompts, options.concurrency, async (prompt, index) => {
    const name = `${String(index + 1).padStart(width, '0')}-${slug(prompt)}.${extension}`;
    try {
      const response = await client.images.generate({
        model: options.model,
        prompt,
        size: options.size,
        quality: options.quality,
        output_format: options.outputFormat,
      });
      const b64 = response.data?.[0]?.b64_json;
      if (!b64) throw new Error('no b64_json in the response');
      await writeFile(path.join(options.outDir, name), Buffer.from(b64, 'base64'));
    } catch (error) {
      failed += 1;
      process.stderr.write(`gen.mjs: ${name}: ${error?.status ?? ''} ${error?.message ?? error}\n`);
    }
  });
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`gen.mjs: ${error?.stack ?? error}\n`);
  process.exit(1);
});
