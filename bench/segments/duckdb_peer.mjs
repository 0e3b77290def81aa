// DuckDB peer of bench/segments (pond_bench_segments run starts it).
//
//   node duckdb_peer.mjs --dir D --questions D/questions.json [--repeat R]
//
// Loads D's CSV files into an in-memory DuckDB database, runs each question's
// SQL (one warm-up, then up to R timed runs: at least 3, and no more once
// 10 s are spent, as for the other peers), and prints one JSON object:
//   {"notes": "...", "questions": {name: {count, p50_ms, p99_ms, runs} | {error}}}
// Progress goes to stderr.
//
// Schema choices: DuckDB scans columns and decorrelates subqueries into hash
// joins, so there are no indexes; instead the tables are sorted on load so
// that each row group's min/max lets a filter skip what it cannot match:
// orders by day (window filters), order_categories by (category, day)
// (bought), member_tags by tag. Types are given explicitly; an empty field is
// NULL. Default threads (all cores) and memory limit.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

function argument(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const dir = argument('--dir');
const questions = JSON.parse(readFileSync(argument('--questions'), 'utf8'));
const maxRuns = Number(argument('--repeat', '30'));
const minRuns = 3;
const budgetMs = 10_000;

function readCsv(file, columns) {
  const spec = Object.entries(columns).map(([name, type]) => `'${name}': '${type}'`).join(', ');
  return `read_csv('${dir}/${file}', header = true, delim = ',', quote = '', escape = '', nullstr = '', ` +
    `columns = {${spec}})`;
}

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const loadStart = performance.now();
await connection.run(`CREATE TABLE members AS SELECT * FROM ${readCsv('members.csv', {
  member_id: 'BIGINT', tier: 'VARCHAR', lifecycle: 'VARCHAR', gender: 'VARCHAR', city: 'VARCHAR',
  home_store: 'VARCHAR', source: 'VARCHAR', owner_staff: 'VARCHAR', rfm: 'VARCHAR', points: 'BIGINT',
  growth: 'BIGINT', registered_day: 'INTEGER', birthday_day: 'INTEGER', birth_year: 'INTEGER',
  birth_month: 'INTEGER', birth_day: 'INTEGER',
})}`);
await connection.run(`CREATE TABLE orders AS SELECT * FROM ${readCsv('orders.csv', {
  order_pos: 'INTEGER', member_id: 'BIGINT', day: 'INTEGER', net_fen: 'BIGINT', units: 'INTEGER', weekend: 'INTEGER',
})} ORDER BY day`);
await connection.run(`CREATE TABLE order_categories AS SELECT * FROM ${readCsv('order_categories.csv', {
  order_pos: 'INTEGER', member_id: 'BIGINT', day: 'INTEGER', net_fen: 'BIGINT', category: 'VARCHAR',
  ancestor: 'INTEGER',
})} ORDER BY category, day`);
await connection.run(`CREATE TABLE member_tags AS SELECT * FROM ${readCsv('member_tags.csv', {
  member_id: 'BIGINT', tag: 'VARCHAR',
})} ORDER BY tag, member_id`);
const loadSeconds = (performance.now() - loadStart) / 1000;

const info = (await connection.runAndReadAll(
  "SELECT version(), current_setting('threads'), current_setting('memory_limit')")).getRows()[0];
const notes = `duckdb ${info[0]} (node ${process.version}): loaded and sorted in ${loadSeconds.toFixed(0)} s, ` +
  `in memory, threads ${info[1]}, memory_limit ${info[2]}`;

// Nearest rank, as bench_common.cpp: p50 of 30 runs is the 15th, p99 the 30th.
function rank(sorted, p) {
  const k = Math.min(Math.max(Math.ceil(p * sorted.length), 1), sorted.length);
  return sorted[k - 1];
}

const answers = {};
for (const q of questions) {
  try {
    let count = null;
    const ask = async () => {
      const start = performance.now();
      const rows = (await connection.runAndReadAll(q.sql)).getRows();
      const ms = performance.now() - start;
      const n = Number(rows[0][0]);
      if (count !== null && n !== count) throw new Error(`counted ${n} after ${count}`);
      count = n;
      return ms;
    };
    await ask();  // warm-up
    const samples = [];
    let spent = 0;
    while (samples.length < maxRuns && (samples.length < minRuns || spent < budgetMs)) {
      const ms = await ask();
      samples.push(ms);
      spent += ms;
    }
    samples.sort((a, b) => a - b);
    answers[q.name] = { count, p50_ms: rank(samples, 0.5), p99_ms: rank(samples, 0.99), runs: samples.length };
    process.stderr.write(`duckdb: ${q.name} ${rank(samples, 0.5).toFixed(1)} ms\n`);
  } catch (e) {
    answers[q.name] = { error: String(e.message ?? e) };
  }
}
connection.closeSync();
instance.closeSync();
process.stdout.write(JSON.stringify({ notes, questions: answers }) + '\n');
