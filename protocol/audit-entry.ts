/** One entry of a pod's audit log, as the worker keeps it and the api and the console show it. */
export interface AuditEntry {
  time: string;
  actor: string | null;
  action: string;
  path?: string;
  /** `allowed`, or the error code the request ended with (`forbidden`, `not_found`, ...). */
  outcome: string;
  requestId?: string;
  /** A summary of refused requests: how many it stands for (path and request id are the last one's). */
  count?: number;
  /** A summary: when the first of its requests came (`time` is the last's). */
  firstTime?: string;
}
