// Canonical JSON for comparing readers: int64 as decimal strings, binary as "base64:...", dates as YYYY-MM-DD,
// timestamps and times as microsecond counts (strings), decimals and other numbers as JSON numbers, NaN/Infinity as
// strings, struct keys sorted, maps as lists of {key, value}.
export function canon(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return 'base64:' + Buffer.from(v).toString('base64');
  if (v instanceof Date) return String(BigInt(v.getTime()) * 1000n);
  if (Array.isArray(v)) return v.map(canon);
  if (typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
    return out;
  }
  return String(v);
}

export function print(rows) {
  const out = [];
  for (const r of rows) out.push(JSON.stringify(canon(r)));
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}
