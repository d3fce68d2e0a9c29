// Usage: node duckdb_copy.mjs JUDGES_DIR ROWS.jsonl OUT.parquet
// Loads the rows into an in-memory DuckDB table (not timed), then times COPY TO Parquet with zstd.
// Prints {"seconds": s, "bytes": n}.
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import path from 'node:path';

const [judgesDir, jsonl, out] = process.argv.slice(2);
const require = createRequire(path.join(judgesDir, 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const q = s => s.replaceAll("'", "''");
await con.run(`CREATE TABLE sft AS SELECT * FROM read_json('${q(jsonl)}', format = 'newline_delimited', columns = {
  messages: 'STRUCT(role VARCHAR, content VARCHAR)[]', prompt_id: 'VARCHAR', prompt: 'VARCHAR', completion: 'VARCHAR',
  reward: 'DOUBLE', rank: 'INTEGER', round: 'INTEGER', policy: 'VARCHAR', reward_model: 'VARCHAR'})`);
const start = process.hrtime.bigint();
await con.run(`COPY sft TO '${q(out)}' (FORMAT parquet, COMPRESSION zstd)`);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ seconds, bytes: statSync(out).size }));
