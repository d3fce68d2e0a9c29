// Usage: node read.mjs <duckdb|hyparquet|arrow-rs> FILE.parquet...
// Prints each file's rows as canonical JSON lines (see canon.mjs), as the named independent reader sees them, after a
// line "### FILE <path>"; a file the reader rejects gets "### ERROR <message>" instead of rows.
import { readFileSync } from 'node:fs';
import { canon, print } from './canon.mjs';

const [judge, ...files] = process.argv.slice(2);
let file;

async function duckdb() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
  return reader.getRowObjects().map(duck);
}

// DuckDB's value classes, unwrapped into plain JS values that canon() understands.
function duck(v) {
  if (v === null || typeof v !== 'object') return v;
  const name = v.constructor?.name ?? '';
  if (name === 'DuckDBBlobValue') return v.bytes;
  if (name === 'DuckDBDateValue') return v.toString();
  if (name.startsWith('DuckDBTimestamp') || name.startsWith('DuckDBTime')) {
    if ('micros' in v) return String(v.micros);
    if ('millis' in v) return String(BigInt(v.millis) * 1000n);
    if ('nanos' in v) return String(BigInt(v.nanos) / 1000n);
    if ('seconds' in v) return String(BigInt(v.seconds) * 1000000n);
  }
  if (name === 'DuckDBDecimalValue') return Number(v.toString());
  if (name === 'DuckDBUUIDValue') return v.toString();
  if (name === 'DuckDBListValue' || name === 'DuckDBArrayValue') return v.items.map(duck);
  if (name === 'DuckDBStructValue') return Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, duck(x)]));
  if (name === 'DuckDBMapValue') return v.entries.map(e => ({ key: duck(e.key), value: duck(e.value) }));
  if (Array.isArray(v)) return v.map(duck);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, duck(x)]));
}

async function hyparquet() {
  const { parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const buf = readFileSync(file);
  const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return parquetReadObjects({ file: arrayBuffer, compressors, utf8: false });
}

async function arrowRs() {
  const wasm = await import('parquet-wasm');
  const arrow = await import('apache-arrow');
  const table = arrow.tableFromIPC(wasm.readParquet(readFileSync(file)).intoIPCStream());
  const rows = table.toArray().map(r => arrowValue(r));
  // Arrow JS hands decimals over as raw words: scale top-level ones to numbers.
  for (const field of table.schema.fields) {
    if (arrow.DataType.isDecimal(field.type)) {
      const column = table.getChild(field.name);
      rows.forEach((r, i) => {
        const v = column.get(i);
        r[field.name] = v === null ? null : Number(arrow.util.bigNumToString(v)) / 10 ** field.type.scale;
      });
    }
  }
  return rows;
}

function arrowValue(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array || typeof v !== 'object') return v;
  if (v.constructor?.name === 'MapRow') return [...v].map(([k, x]) => ({ key: arrowValue(k), value: arrowValue(x) }));
  if (typeof v.toArray === 'function' && !(v instanceof Array) && v.constructor?.name === 'Vector') return [...v].map(arrowValue);
  if (typeof v.toJSON === 'function') {
    const j = v.toJSON();
    if (Array.isArray(j)) return [...v].map(arrowValue);
    return Object.fromEntries(Object.keys(j).map(k => [k, arrowValue(v[k])]));
  }
  return v;
}

const readers = { duckdb, hyparquet, 'arrow-rs': arrowRs };
if (!readers[judge]) {
  console.error(`unknown reader ${judge}`);
  process.exit(2);
}
for (file of files) {
  process.stdout.write(`### FILE ${file}\n`);
  try {
    print(await readers[judge]());
  } catch (e) {
    process.stdout.write(`### ERROR ${String(e?.message ?? e).replaceAll('\n', ' ')}\n`);
  }
}
