/**
 * An ObjectStore that counts the requests made through it, by operation, in
 * `podstore_worker_storage_requests_total{op}`: what each command costs in storage round trips, the
 * figure the small-file design is judged by (docs/benchmarks.md). `init`, `ping` (health checks) and
 * `close` are not counted; everything passes through unchanged.
 */
import type { Counter } from 'prom-client';
import type { ObjectStore } from './object-store.ts';

export type StorageOp = Exclude<keyof ObjectStore, 'kind'>;

export function countedStore(store: ObjectStore, requests: Counter<'op'>): ObjectStore {
  const count = (op: StorageOp) => requests.inc({ op });
  return {
    kind: store.kind,
    init: () => store.init(),
    ping: () => store.ping(),
    get: (key) => (count('get'), store.get(key)),
    head: (key) => (count('head'), store.head(key)),
    put: (key, body, options) => (count('put'), store.put(key, body, options)),
    delete: (key) => (count('delete'), store.delete(key)),
    discard: (key) => (count('discard'), store.discard(key)),
    list: (prefix, options) => (count('list'), store.list(prefix, options)),
    putStream: (key, source, options) => (count('putStream'), store.putStream(key, source, options)),
    getStream: (key, range) => (count('getStream'), store.getStream(key, range)),
    listChildren: (prefix, options) => (count('listChildren'), store.listChildren(prefix, options)),
    deletePrefix: (prefix) => (count('deletePrefix'), store.deletePrefix(prefix)),
    deleteMany: (keys) => (count('deleteMany'), store.deleteMany(keys)),
    close: () => store.close(),
  };
}
