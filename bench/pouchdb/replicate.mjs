// Comparison baseline for Fieldbook's sync benchmark: the same records as
// CouchDB-style documents, replicated by PouchDB (node, in-memory) from
// express-pouchdb on loopback — the replication stack of the Community Health
// Toolkit (CHT).
//
// usage: node replicate.mjs --data <dataset.json> [--runs 5] [--incremental 100] [--in-process]
//
// The dataset is what `cargo run -p xtask -- demo-data --size village --out v.json`
// writes: a JSON object with arrays villages, households, persons, visits,
// plans and ticks of records that each have an `id`. Each record becomes the
// document {_id: "<kind>:<id>", ...record}, where <kind> is the array's name in
// the singular (village, household, person, visit, plan, tick).
//
// The server (express 4 + express-pouchdb over an in-memory PouchDB) runs in a
// child Node process, as a server does on another machine, so that server and
// client each have a core and overlap their work; --in-process runs it in the
// benchmark's own process instead (one thread does both sides).
//
// Progress goes to stderr; one JSON object with the results goes to stdout.

import { createRequire } from 'node:module';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import PouchDB from 'pouchdb';
import memoryAdapter from 'pouchdb-adapter-memory';
import { REPLICATION_OPTIONS, editedIds, loadDocuments, startServer } from './server.mjs';

PouchDB.plugin(memoryAdapter);
const require = createRequire(import.meta.url);

// Replication options: CHT's for its server-to-phone direction, defined in
// server.mjs (the browser benchmark uses the same).
//
// Note: since 4.x CHT does the very first sync of a new phone differently
// (webapp/src/js/bootstrapper/initial-replication.js: fetch the user's doc ids
// from its API, bulkGet them 100 at a time into bulkDocs({new_edits: false}),
// then one replicate.from to write the checkpoint). Here the first sync is a
// plain PouchDB.replicate, which is what every later CHT sync uses and what
// PouchDB/CouchDB apps in general do.

const log = (...parts) => console.error('[pouchdb-bench]', ...parts);

function parseArgs(argv) {
  const args = { data: null, runs: 5, incremental: 100, inProcess: false, serve: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--in-process') { args.inProcess = true; continue; }
    if (flag === '--serve') { args.serve = true; continue; } // internal: the child server process
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--data') args.data = value;
    else if (flag === '--runs') args.runs = positiveInt(flag, value);
    else if (flag === '--incremental') args.incremental = positiveInt(flag, value);
    else throw new Error(`unknown option ${flag}`);
  }
  if (!args.data) {
    throw new Error('usage: node replicate.mjs --data <dataset.json> [--runs 5] [--incremental 100] [--in-process]');
  }
  return args;
}

function positiveInt(flag, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, not ${value}`);
  return n;
}

// The child process: runs startServer and answers the parent's calls.
async function serveChild(args) {
  // Never outlive the benchmark, however it ends.
  process.on('disconnect', () => process.exit(0));
  const server = await startServer(loadDocuments(args.data));
  process.on('message', async ({ id, method, params }) => {
    try {
      const result = await server[method](...(params || []));
      process.send({ id, result });
      if (method === 'close') process.disconnect();
    } catch (error) {
      process.send({ id, error: String(error?.stack || error) });
    }
  });
  process.send({ ready: server.url });
}

// The parent's handle on the child process: the same methods, over IPC.
async function spawnServer(args) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '--data', args.data], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    child.on('message', (message) => {
      if (message.ready) return resolve(message.ready);
      const { resolve: ok, reject: fail } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) fail(new Error(`server: ${message.error}`));
      else ok(message.result);
    });
  });
  const call = (method, ...params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    child.send({ id, method, params });
  });
  return {
    url,
    wireBytes: () => call('wireBytes'),
    takeRequestCounts: () => call('takeRequestCounts'),
    edit: (ids) => call('edit', ids),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await call('close');
      await exited;
    },
  };
}

// ---------------------------------------------------------------- client side

function stats(runs) {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted.at(-1)), runs: runs.map(round) };
}

const round = (x) => Math.round(x * 10) / 10;

const versionOf = (name) => require(`${name}/package.json`).version;

async function main(args) {
  const docs = loadDocuments(args.data);
  const jsonBytes = docs.reduce((sum, doc) => sum + Buffer.byteLength(JSON.stringify(doc)), 0);
  if (args.incremental > docs.length) throw new Error(`--incremental ${args.incremental} > ${docs.length} documents`);
  log(`${docs.length} documents, ${(jsonBytes / 1e6).toFixed(2)} MB of JSON`);

  const server = args.inProcess ? await startServer(docs) : await spawnServer(args);
  log(`express-pouchdb on ${server.url} (${args.inProcess ? 'in this process' : 'in a child process'})`);

  const firstMs = [];
  const incrementalMs = [];
  const firstWire = [];
  const incrementalWire = [];
  for (let run = 0; run < args.runs; run++) {
    const remote = new PouchDB(server.url);
    const local = new PouchDB(`client-${run}`, { adapter: 'memory' });

    // First full pull into an empty client.
    await server.takeRequestCounts();
    let bytes = await server.wireBytes();
    let t = performance.now();
    const first = await PouchDB.replicate(remote, local, REPLICATION_OPTIONS);
    const ms = performance.now() - t;
    bytes = (await server.wireBytes()) - bytes;
    if (first.status !== 'complete' || first.docs_written !== docs.length) {
      throw new Error(`first sync: status ${first.status}, ${first.docs_written} of ${docs.length} written`);
    }
    const localInfo = await local.info();
    if (localInfo.doc_count !== docs.length) throw new Error(`client holds ${localInfo.doc_count} documents`);
    firstMs.push(ms);
    firstWire.push(bytes);
    log(`run ${run + 1}/${args.runs}: first sync ${Math.round(ms)} ms, ` +
      `${Math.round(docs.length / (ms / 1000))} docs/s, ${(bytes / 1e6).toFixed(2)} MB on the wire`);
    if (run === 0) {
      const counts = await server.takeRequestCounts();
      log(`  requests: ${counts.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    }

    // Edit --incremental documents on the server (not timed).
    // Evenly spread over the dataset (so over all kinds), a different set each run.
    const ids = editedIds(docs, args.incremental, run);
    const revs = await server.edit(ids);

    // One replication of just those into the already-synced client.
    await server.takeRequestCounts();
    bytes = await server.wireBytes();
    t = performance.now();
    const incremental = await PouchDB.replicate(remote, local, REPLICATION_OPTIONS);
    const incMs = performance.now() - t;
    bytes = (await server.wireBytes()) - bytes;
    if (incremental.status !== 'complete' || incremental.docs_written !== args.incremental) {
      throw new Error(`incremental sync: status ${incremental.status}, ` +
        `${incremental.docs_written} of ${args.incremental} written`);
    }
    const edited = await local.allDocs({ keys: ids });
    if (edited.rows.some((row, i) => row.value?.rev !== revs[i])) {
      throw new Error('the client does not hold the edited revisions');
    }
    incrementalMs.push(incMs);
    incrementalWire.push(bytes);
    log(`run ${run + 1}/${args.runs}: incremental sync of ${args.incremental} ${Math.round(incMs)} ms, ` +
      `${(bytes / 1e3).toFixed(1)} kB on the wire`);
    if (run === 0) {
      const counts = await server.takeRequestCounts();
      log(`  requests: ${counts.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    }

    await local.destroy();
    await remote.close();
  }
  await server.close();

  const first = stats(firstMs);
  return {
    first_sync_ms: first,
    incremental_ms: stats(incrementalMs),
    docs: docs.length,
    json_bytes: jsonBytes,
    first_sync_docs_per_s: Math.round(docs.length / (first.median / 1000)),
    first_sync_wire_bytes: stats(firstWire).median,
    incremental_docs: args.incremental,
    incremental_wire_bytes: stats(incrementalWire).median,
    server: args.inProcess ? 'in-process' : 'child-process',
    replication_options: REPLICATION_OPTIONS,
    versions: {
      pouchdb: versionOf('pouchdb'),
      'pouchdb-adapter-memory': versionOf('pouchdb-adapter-memory'),
      'express-pouchdb': versionOf('express-pouchdb'),
      express: versionOf('express'),
      node: process.versions.node,
    },
  };
}

try {
  const args = parseArgs(process.argv.slice(2));
  if (args.serve) {
    await serveChild(args);
  } else {
    const result = await main(args);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
} catch (error) {
  console.error('[pouchdb-bench] error:', error);
  process.exit(1);
}
