/**
 * Child process for the filesystem store's cross-process test: increments a counter object `count`
 * times with read-modify-write under `ifMatch`, retrying on PreconditionFailedError. If conditional
 * writes were not atomic across processes, increments would be lost.
 * Usage: node --import tsx fs-increment-worker.ts <root> <key> <count>
 */
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import { PreconditionFailedError } from '../../worker/storage/object-store.ts';

const [root, key, countText] = process.argv.slice(2);
if (root === undefined || key === undefined || countText === undefined) {
  throw new Error('usage: fs-increment-worker.ts <root> <key> <count>');
}
const store = new FsObjectStore(root);
let conflicts = 0;
for (let done = 0; done < Number(countText); ) {
  const current = await store.get(key);
  if (current === undefined) throw new Error(`${key} is missing`);
  const next = Buffer.from(String(Number(current.body.toString()) + 1));
  try {
    await store.put(key, next, { ifMatch: current.etag });
    done++;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    conflicts++;
  }
}
process.stdout.write(`${JSON.stringify({ conflicts })}\n`);
