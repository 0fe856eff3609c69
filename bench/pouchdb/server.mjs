// The CouchDB side of the PouchDB baseline: express-pouchdb (express 4) over
// an in-memory PouchDB holding every record of a Fieldbook dataset as a
// document. Used by replicate.mjs (PouchDB in Node, the "floor") and, run as
// a program, by the browser benchmark (bench/browser/app.bench.ts), which
// replicates into PouchDB's browser build on IndexedDB in the same Chromium
// as the app.
//
// As a program: node server.mjs --data <dataset.json>
// Prints one JSON line {"origin": "http://127.0.0.1:PORT", "db": "fieldbook",
// "docs": N, "options": REPLICATION_OPTIONS} on stdout when it listens. Besides the CouchDB API it serves
//   GET  /_bench/page.html        an empty page that loads PouchDB's browser build
//   GET  /_bench/pouchdb.min.js   node_modules/pouchdb/dist/pouchdb.min.js
//   POST /_bench/edit?count=N&run=R  edits N documents spread evenly over the
//        dataset (a different set for each R) and answers {ids, revs}
// It exits when its standard input closes (the benchmark ended).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import express from 'express';
import expressPouchDB from 'express-pouchdb';
import PouchDB from 'pouchdb';
import memoryAdapter from 'pouchdb-adapter-memory';

PouchDB.plugin(memoryAdapter);
const require = createRequire(import.meta.url);

// Replication options, as CHT's webapp sets them for its "from" direction
// (server to phone; webapp/src/ts/services/db-sync.service.ts in cht-core):
// heartbeat 10 s, timeout 10 min, batch_size 100. batch_size 100 is also
// PouchDB's default. batches_limit is left at PouchDB's default of 10 (CHT
// does not set it). live and retry are false: CHT runs one-shot replications
// every 5 minutes rather than a live one. Checkpoints are written on both
// sides (PouchDB's default; CHT sets checkpoint: 'source' only for the upward
// "to" direction).
export const REPLICATION_OPTIONS = {
  live: false,
  retry: false,
  batch_size: 100,
  heartbeat: 10_000,
  timeout: 10 * 60 * 1000,
};

const KINDS = {
  villages: 'village',
  households: 'household',
  persons: 'person',
  visits: 'visit',
  plans: 'plan',
  ticks: 'tick',
};

export const DB_NAME = 'fieldbook';

const log = (...parts) => console.error('[pouchdb-bench]', ...parts);

/** Every record of the dataset at `path` as a document `{_id: "<kind>:<id>", ...record}`. */
export function loadDocuments(path) {
  const data = JSON.parse(readFileSync(path, 'utf8'));
  const docs = [];
  for (const [key, kind] of Object.entries(KINDS)) {
    const records = data[key];
    if (!Array.isArray(records)) throw new Error(`${path}: no array \`${key}\``);
    for (const record of records) docs.push({ _id: `${kind}:${record.id}`, ...record });
  }
  return docs;
}

/** The `count` document ids edited before incremental run `run`: evenly spread over the dataset (so over all kinds), a different set each run. */
export function editedIds(docs, count, run) {
  const stride = Math.floor(docs.length / count);
  const ids = [];
  for (let i = 0; i < count; i++) ids.push(docs[(i * stride + run) % docs.length]._id);
  return ids;
}

// Starts express-pouchdb on 127.0.0.1 on a free port with one in-memory
// database holding `docs`, loaded with bulkDocs before anything is timed.
export async function startServer(docs) {
  // The server's PouchDB: everything in memory (memdown), nothing on disk.
  const ServerPouchDB = PouchDB.defaults({ adapter: 'memory' });

  // express-pouchdb in its 'minimumForPouchDB' mode: the routes PouchDB's
  // replicator uses (db info, _changes, _bulk_get, _bulk_docs, _revs_diff,
  // _all_docs, documents and _local checkpoints, ...) plus gzip compression
  // of responses. The default 'fullCouchDB' mode would also write a config
  // file and a log file to disk and add auth/validation layers.
  const app = express();
  const db = new ServerPouchDB(DB_NAME);

  // The browser benchmark's routes, on the database's own origin (so the
  // page's PouchDB needs no CORS, as CHT's webapp is served by its API).
  app.get('/_bench/page.html', (_req, res) => {
    res.type('html').send('<!doctype html><meta charset="utf-8"><title>PouchDB bench</title>' +
      '<script src="/_bench/pouchdb.min.js"></script>');
  });
  app.get('/_bench/pouchdb.min.js', (_req, res) => {
    res.sendFile(require.resolve('pouchdb/dist/pouchdb.min.js'));
  });
  app.post('/_bench/edit', async (req, res) => {
    try {
      const count = Number(req.query.count ?? 100);
      const run = Number(req.query.run ?? 0);
      const ids = editedIds(docs, count, run);
      res.json({ ids, revs: await edit(ids) });
    } catch (error) {
      res.status(500).send(String(error?.stack || error));
    }
  });
  app.use('/', expressPouchDB(ServerPouchDB, { mode: 'minimumForPouchDB' }));

  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
  // Bytes on the wire (HTTP, both directions), counted on the server's sockets.
  const sockets = new Set();
  server.on('connection', (socket) => sockets.add(socket));
  // Requests per route, to show what the replicator does.
  let requestCounts = new Map();
  server.on('request', (req) => {
    const path = req.url.split('?')[0]
      .replace(/^\/[^/]+/, '')
      .replace(/^\/_local\/.*/, '/_local/<id>')
      .replace(/^\/(?!_)[^/]+$/, '/<doc>');
    const key = `${req.method} /db${path === '/' ? '' : path}`;
    requestCounts.set(key, (requestCounts.get(key) || 0) + 1);
  });

  const t = performance.now();
  for (let i = 0; i < docs.length; i += 1000) {
    const result = await db.bulkDocs(docs.slice(i, i + 1000));
    const failed = result.filter((r) => r.error);
    if (failed.length) throw new Error(`bulkDocs failed: ${JSON.stringify(failed[0])}`);
  }
  const info = await db.info();
  if (info.doc_count !== docs.length) throw new Error(`server holds ${info.doc_count} of ${docs.length} documents`);
  log(`server holds ${info.doc_count} documents (loaded in ${Math.round(performance.now() - t)} ms)`);

  // Changes one field of each document: the record's `deleted` flag is
  // toggled (every kind has it). Returns the new revisions.
  async function edit(ids) {
    const current = await db.allDocs({ keys: ids, include_docs: true });
    const edited = current.rows.map((row) => ({ ...row.doc, deleted: !row.doc.deleted }));
    const written = await db.bulkDocs(edited);
    if (written.some((r) => r.error)) throw new Error('editing documents on the server failed');
    return written.map((r) => r.rev);
  }

  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    url: `${origin}/${DB_NAME}`,
    wireBytes() {
      let total = 0;
      for (const s of sockets) total += s.bytesWritten + s.bytesRead;
      return total;
    },
    takeRequestCounts() {
      const counts = [...requestCounts].sort((a, b) => b[1] - a[1]);
      requestCounts = new Map();
      return counts;
    },
    edit,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        for (const s of sockets) s.destroy();
      });
      await db.destroy();
    },
  };
}

// Run as a program: serve until stdin closes.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const at = process.argv.indexOf('--data');
    if (at < 0 || !process.argv[at + 1]) throw new Error('usage: node server.mjs --data <dataset.json>');
    const docs = loadDocuments(process.argv[at + 1]);
    const server = await startServer(docs);
    process.stdout.write(JSON.stringify({ origin: server.origin, db: DB_NAME, docs: docs.length, options: REPLICATION_OPTIONS }) + '\n');
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('close', () => process.exit(0));
    process.stdin.resume();
  } catch (error) {
    console.error('[pouchdb-bench] error:', error);
    process.exit(1);
  }
}
