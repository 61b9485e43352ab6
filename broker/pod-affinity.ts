/**
 * Which worker a pod's commands prefer: rendezvous (highest-random-weight) hashing of the pod over the
 * live workers. Every pod has one home among the workers that serve a service; when a worker leaves,
 * only the pods whose home it was move (each to its second choice), and when one joins, only the pods
 * it now wins move to it. No table to keep, nothing to rebalance: the home follows from the names.
 *
 * The home is a preference, not a rule (decision 0007): a command goes to its pod's home while the home
 * has a free slot and no more than its share of the load, else to the least-loaded worker as before, so
 * a pod busier than one worker still gets every worker, and a worker that dies moves its pods at once.
 * What a worker keeps about a pod must therefore stay correct when two workers serve it at once.
 *
 * Pure: hashes of names. FNV-1a (32 bits) of each name, mixed with murmur3's finalizer so that
 * similar names (worker ids differ in a few bytes) score independently.
 */

/** FNV-1a, 32 bits, of the string's UTF-16 code units (names here are ASCII). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** murmur3's 32-bit finalizer: every input bit moves about half of the output bits. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A worker's own hash, computed once when it registers. */
export const workerHash = (workerId: string) => mix32(fnv1a(workerId));

/** A pod's hash, computed once per request. */
export const podHash = (pod: string) => fnv1a(pod);

/** How much `worker` wants `pod`: the highest score among the candidates is the pod's home. */
export const affinityScore = (pod: number, worker: number) => mix32(pod ^ worker);
