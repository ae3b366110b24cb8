// Peer benchmark: mongodb-schema (MongoDB Compass's inference library) on the same documents.
// Usage: node bench_mongodb_schema.mjs FILE ndjson|bson [storeValues=true|false]
// Prints one JSON line: {"docs", "seconds", "peak_rss_mb"}; times parsing + inference only.
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseSchema } from 'mongodb-schema';
import { BSON, EJSON } from 'bson';

const [file, format, store = 'true'] = process.argv.slice(2);
let docs = 0;

async function* ndjson() {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim()) { docs++; yield EJSON.parse(line, { relaxed: false }); }
  }
}

function* bsonFile() {
  const buffer = readFileSync(file);
  let offset = 0;
  while (offset < buffer.length) {
    const size = buffer.readInt32LE(offset);
    docs++;
    yield BSON.deserialize(buffer.subarray(offset, offset + size), { promoteValues: false });
    offset += size;
  }
}

const start = process.hrtime.bigint();
await parseSchema(format === 'bson' ? bsonFile() : ndjson(), { storeValues: store === 'true' });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ docs, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
