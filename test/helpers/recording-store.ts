/**
 * An ObjectStore that passes every call through to `store` and records it: the operation and the keys
 * (or prefix) it names, in order. For unit tests that hold a piece of code to a budget of store requests.
 */
import type { ObjectStore } from '../../worker/storage/object-store.ts';

export interface StoreCall {
  op: string;
  /** The key or prefix of the call; every key of a `deleteMany`. */
  keys: string[];
}

export function recordingStore(store: ObjectStore): { store: ObjectStore; calls: StoreCall[] } {
  const calls: StoreCall[] = [];
  const recording = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({
          op: String(name),
          keys: [args[0]].flat().filter((k): k is string => typeof k === 'string'),
        });
        return value.apply(target, args);
      };
    },
  });
  return { store: recording, calls };
}
