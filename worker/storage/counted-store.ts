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
  const counted =
    <A extends unknown[], R>(op: StorageOp, call: (...args: A) => R) =>
    (...args: A): R => {
      requests.inc({ op });
      return call(...args);
    };
  return {
    kind: store.kind,
    init: () => store.init(),
    ping: () => store.ping(),
    get: counted('get', (key) => store.get(key)),
    head: counted('head', (key) => store.head(key)),
    put: counted('put', (key, body, options) => store.put(key, body, options)),
    delete: counted('delete', (key) => store.delete(key)),
    discard: counted('discard', (key) => store.discard(key)),
    list: counted('list', (prefix, options) => store.list(prefix, options)),
    putStream: counted('putStream', (key, source, options) => store.putStream(key, source, options)),
    getStream: counted('getStream', (key, range) => store.getStream(key, range)),
    listChildren: counted('listChildren', (prefix, options) => store.listChildren(prefix, options)),
    deletePrefix: counted('deletePrefix', (prefix) => store.deletePrefix(prefix)),
    deleteMany: counted('deleteMany', (keys) => store.deleteMany(keys)),
    close: () => store.close(),
  };
}
