#!/usr/bin/env node
// BullMQ comparison for bench/engine.sh: the queue of the reference product,
// measured the way bench/engine.sh measures Herald's scenario A.
//
//   node bullmq.js N CONCURRENCY QUEUE_NAME [REDIS_HOST] [REDIS_PORT]
//
// 1. A pilot of 1,000 jobs on a throw-away queue measures how fast jobs are
//    added, to pick a due time T that the real enqueue finishes before.
// 2. N delayed jobs (removeOnComplete) are added in bulk, every one due at T.
// 3. Only then a Worker with a no-op processor starts (in this process) and
//    runs until N jobs have completed or the timeout passes.
// Prints one JSON line: enqueue rate, jobs/s (N / (last completion - T)),
// lateness p50/p99 (processor start - job due time), duplicates.
//
// BULLMQ_HTTP_URL=http://… makes the processor do what a Herald delivery
// does instead of nothing: the webhook provider's signed JSON POST
// (X-Herald-Signature HMAC-SHA256, Idempotency-Key, the same body shape) to
// that URL over keep-alive connections, failing the job unless it answers
// 2xx. Job state stays in Redis (in memory; durable only as far as the
// server's own persistence settings make it).
'use strict';

const path = require('path');
const http = require('http');
const crypto = require('crypto');
const { Queue, Worker } = require(path.join(__dirname, 'node_modules', 'bullmq'));

const [nArg, concArg, name, host = '127.0.0.1', portArg = '6379'] = process.argv.slice(2);
const N = Number(nArg);
const CONCURRENCY = Number(concArg);
const TIMEOUT_MS = Number(process.env.BULLMQ_TIMEOUT_MS || 600_000);
if (!(N > 0) || !(CONCURRENCY > 0) || !name) {
  console.error('usage: bullmq.js N CONCURRENCY QUEUE_NAME [REDIS_HOST] [REDIS_PORT]');
  process.exit(2);
}
const connection = { host, port: Number(portArg), maxRetriesPerRequest: null };
const CHUNK = 1000;
const log = (msg) => process.stderr.write(`[bullmq] ${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function addDelayed(queue, count, due) {
  for (let start = 0; start < count; start += CHUNK) {
    const size = Math.min(CHUNK, count - start);
    const now = Date.now();
    const delay = Math.max(0, due - now);
    const jobs = [];
    for (let i = 0; i < size; i += 1) {
      jobs.push({
        name: 'publish',
        data: { content: 'post', n: start + i, due },
        opts: { delay, removeOnComplete: true, removeOnFail: true },
      });
    }
    await queue.addBulk(jobs);
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

const HTTP_URL = process.env.BULLMQ_HTTP_URL ? new URL(process.env.BULLMQ_HTTP_URL) : null;
const SECRET = 'bench-secret-0123456789';
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

// The webhook provider's request (crates/herald-providers/src/webhook.rs).
function deliver(job) {
  const key = `${job.id}-0`;
  const body = JSON.stringify({
    event: 'post.publish',
    idempotencyKey: key,
    sentAt: new Date().toISOString(),
    post: { id: String(job.id), tags: [], scheduledFor: new Date(job.data.due).toISOString() },
    item: { index: 0, of: 1, content: job.data.content, mediaUrls: [] },
    replyTo: null,
    root: null,
    integration: { id: 'bench', name: 'bench' },
    target: { id: String(job.id), settings: {} },
  });
  const signature = `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: HTTP_URL.hostname,
        port: HTTP_URL.port,
        path: HTTP_URL.pathname,
        method: 'POST',
        agent,
        timeout: 30_000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-herald-signature': signature,
          'idempotency-key': key,
          'x-herald-event': 'post.publish',
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode < 200 || res.statusCode > 299) return reject(new Error(`receiver answered ${res.statusCode}`));
          let answer = null;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            answer = null;
          }
          resolve(answer && answer.id ? String(answer.id) : key);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  // 1. Pilot on its own queue, removed at once.
  const pilot = new Queue(`${name}-pilot`, { connection });
  const p0 = Date.now();
  await addDelayed(pilot, CHUNK, Date.now() + 3_600_000);
  const pilotRate = CHUNK / Math.max(0.001, (Date.now() - p0) / 1000);
  await pilot.obliterate({ force: true });
  await pilot.close();

  // 2. N delayed jobs, all due at T.
  const queue = new Queue(name, { connection });
  const margin = Math.max(3_000, Math.ceil((N / pilotRate) * 1000 * 1.5) + 2_000);
  const due = Date.now() + margin;
  const e0 = Date.now();
  await addDelayed(queue, N, due);
  const e1 = Date.now();
  const enqueueRate = N / Math.max(0.001, (e1 - e0) / 1000);
  log(`enqueued ${N} delayed jobs in ${((e1 - e0) / 1000).toFixed(1)} s; due in ${((due - e1) / 1000).toFixed(1)} s`);
  const enqueueOverran = e1 > due;

  // 3. A no-op worker.
  const lateness = new Float64Array(N);
  const seen = new Set();
  let started = 0;
  let duplicates = 0;
  let completed = 0;
  let failed = 0;
  let firstDone = Infinity;
  let lastDone = -Infinity;
  const worker = new Worker(
    name,
    async (job) => {
      const at = Date.now();
      if (seen.has(job.id)) duplicates += 1;
      else seen.add(job.id);
      if (started < N) lateness[started] = at - (job.timestamp + (job.opts.delay || 0));
      started += 1;
      // The platform id is the job's result, as Herald stores it on the target.
      if (HTTP_URL) return deliver(job);
      return undefined;
    },
    { connection, concurrency: CONCURRENCY },
  );
  worker.on('completed', () => {
    const at = Date.now();
    completed += 1;
    if (at < firstDone) firstDone = at;
    if (at > lastDone) lastDone = at;
  });
  worker.on('failed', (job, error) => {
    failed += 1;
    if (failed <= 5) log(`job failed: ${error.message}`);
  });
  worker.on('error', (error) => log(`worker error: ${error.message}`));
  await worker.waitUntilReady();

  const deadline = due + TIMEOUT_MS;
  while (completed + failed < N && Date.now() < deadline) await sleep(50);
  const timedOut = completed + failed < N;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();

  const late = lateness.slice(0, Math.min(started, N)).sort();
  const total = Number.isFinite(lastDone) ? (lastDone - due) / 1000 : null;
  process.stdout.write(
    `${JSON.stringify({
      n: N,
      mode: HTTP_URL ? 'http' : 'noop',
      concurrency: CONCURRENCY,
      enqueueSeconds: (e1 - e0) / 1000,
      enqueueRate,
      enqueueOverran,
      completed,
      failed,
      timedOut,
      duplicates,
      totalSeconds: total,
      jobsPerSec: total && total > 0 ? completed / total : null,
      latenessMs: { p50: percentile(late, 50), p99: percentile(late, 99), max: late.length ? late[late.length - 1] : null },
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error.stack || error}`);
    process.exit(1);
  },
);
