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
'use strict';

const path = require('path');
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
        data: { content: 'post', n: start + i },
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
    },
    { connection, concurrency: CONCURRENCY },
  );
  worker.on('completed', () => {
    const at = Date.now();
    completed += 1;
    if (at < firstDone) firstDone = at;
    if (at > lastDone) lastDone = at;
  });
  worker.on('error', (error) => log(`worker error: ${error.message}`));
  await worker.waitUntilReady();

  const deadline = due + TIMEOUT_MS;
  while (completed < N && Date.now() < deadline) await sleep(50);
  const timedOut = completed < N;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();

  const late = lateness.slice(0, Math.min(started, N)).sort();
  const total = Number.isFinite(lastDone) ? (lastDone - due) / 1000 : null;
  process.stdout.write(
    `${JSON.stringify({
      n: N,
      concurrency: CONCURRENCY,
      enqueueSeconds: (e1 - e0) / 1000,
      enqueueRate,
      enqueueOverran,
      completed,
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
