#!/usr/bin/env node
// Webhook receiver for bench/engine.sh: answers every POST at once with
// 200 {"id": ...} and records, per request, the arrival time, the
// idempotency key and the post's scheduledFor.
//
//   node receiver.js PORT_FILE        listens on 127.0.0.1, a free port,
//                                     written to PORT_FILE when ready
//   GET  /count    "COUNT UNIQUE" as text              (cheap, for polling)
//   GET  /stats    count, unique keys, duplicates, first/last arrival,
//                  first/last scheduledFor, lateness p50/p99/max (ms)
//   POST /reset    forgets everything (between scenarios)
//   POST /anything else: a delivery
//
// Plain `http`, no framework: it must keep well ahead of Herald on a 2-core
// machine that also runs Herald and its database.
'use strict';

const http = require('http');
const fs = require('fs');
const { performance } = require('perf_hooks');

const portFile = process.argv[2];
if (!portFile) {
  console.error('usage: receiver.js PORT_FILE');
  process.exit(2);
}

// Epoch milliseconds with sub-millisecond resolution.
const origin = performance.timeOrigin;
const nowMs = () => origin + performance.now();

let state;
function reset() {
  state = {
    count: 0,
    keys: new Map(), // idempotency key -> times received
    duplicates: 0, // deliveries beyond the first for a key
    badRequests: 0, // no key or no parsable scheduledFor
    arrival: new Float64Array(1 << 17),
    lateness: new Float64Array(1 << 17),
    firstArrival: Infinity,
    lastArrival: -Infinity,
    firstDue: Infinity,
    lastDue: -Infinity,
  };
}
reset();

const dueCache = new Map(); // scheduledFor string -> epoch ms
function parseDue(text) {
  if (typeof text !== 'string') return NaN;
  let ms = dueCache.get(text);
  if (ms === undefined) {
    ms = Date.parse(text);
    if (dueCache.size > 100000) dueCache.clear();
    dueCache.set(text, ms);
  }
  return ms;
}

function grow(array) {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

function record(arrived, key, due) {
  const s = state;
  if (!key || !Number.isFinite(due)) {
    s.badRequests += 1;
    return;
  }
  const seen = s.keys.get(key) || 0;
  s.keys.set(key, seen + 1);
  if (seen > 0) s.duplicates += 1;
  if (s.count === s.arrival.length) {
    s.arrival = grow(s.arrival);
    s.lateness = grow(s.lateness);
  }
  s.arrival[s.count] = arrived;
  s.lateness[s.count] = arrived - due;
  s.count += 1;
  if (arrived < s.firstArrival) s.firstArrival = arrived;
  if (arrived > s.lastArrival) s.lastArrival = arrived;
  if (due < s.firstDue) s.firstDue = due;
  if (due > s.lastDue) s.lastDue = due;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

function stats() {
  const s = state;
  const late = s.lateness.slice(0, s.count).sort();
  const arrived = s.arrival.slice(0, s.count).sort();
  let keysDuplicated = 0;
  for (const times of s.keys.values()) if (times > 1) keysDuplicated += 1;
  const finite = (x) => (Number.isFinite(x) ? x : null);
  return {
    count: s.count,
    unique: s.keys.size,
    duplicates: s.duplicates,
    keysDuplicated,
    badRequests: s.badRequests,
    firstArrivalMs: finite(s.firstArrival),
    lastArrivalMs: finite(s.lastArrival),
    firstDueMs: finite(s.firstDue),
    lastDueMs: finite(s.lastDue),
    // When the first 10 %, half and 90 % of the requests had arrived,
    // in ms after the first due time: shows whether the rate changes as the
    // queue drains.
    arrivalAfterFirstDueMs: {
      p10: arrived.length ? percentile(arrived, 10) - s.firstDue : null,
      p50: arrived.length ? percentile(arrived, 50) - s.firstDue : null,
      p90: arrived.length ? percentile(arrived, 90) - s.firstDue : null,
    },
    latenessMs: {
      min: late.length ? late[0] : null,
      p50: percentile(late, 50),
      p99: percentile(late, 99),
      max: late.length ? late[late.length - 1] : null,
    },
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

let answerId = 0;
const server = http.createServer((req, res) => {
  const arrived = nowMs();
  if (req.method === 'GET' && req.url === '/count') return res.end(`${state.count} ${state.keys.size}\n`);
  if (req.method === 'GET' && req.url === '/stats') return send(res, 200, stats());
  if (req.method === 'POST' && req.url === '/reset') {
    req.resume();
    reset();
    return send(res, 200, { ok: true });
  }
  if (req.method !== 'POST') return send(res, 404, { error: 'not found' });
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const key = req.headers['idempotency-key'] || (body && body.idempotencyKey);
    const due = parseDue(body && body.post && body.post.scheduledFor);
    record(arrived, key, due);
    answerId += 1;
    send(res, 200, { id: `bench-${answerId}` });
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.maxHeadersCount = 100;
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile, String(server.address().port));
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
