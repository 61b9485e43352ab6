/**
 * The worker's services wired as worker/main.ts wires them, on an in-memory object store and with a
 * publisher that records events: for unit tests of the services, with no server and no broker.
 */
import { AccessService } from '../../worker/access/access-service.ts';
import { AuditLog } from '../../worker/access/audit-log.ts';
import { GrantStore } from '../../worker/access/grant-store.ts';
import { GrantsService } from '../../worker/access/grants-service.ts';
import type { EventInput, EventPublisher } from '../../worker/events/event-publisher.ts';
import { FilesService, type FilesServiceOptions } from '../../worker/files/files-service.ts';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { UsersService } from '../../worker/users/users-service.ts';

export interface MemoryWorker {
  store: MemoryObjectStore;
  users: UsersService;
  access: AccessService;
  audit: AuditLog;
  grants: GrantsService;
  files: FilesService;
  /** Every event published so far, in order. */
  events: EventInput[];
  /** Creates an account (a person) with an empty profile. */
  signUp(name: string): Promise<void>;
}

export function memoryWorker(
  options: { files?: FilesServiceOptions; clock?: () => Date } = {},
): MemoryWorker {
  const clock = options.clock ?? (() => new Date());
  const store = new MemoryObjectStore();
  const events: EventInput[] = [];
  const publisher: EventPublisher = {
    publish: async (event) => {
      events.push(event);
    },
  };
  const users = new UsersService(store, clock, publisher);
  const accountSince = async (name: string) => (await users.find(name).catch(() => undefined))?.createdAt;
  const podWrites = new PodWriteGuard(new IncarnationReader(store), 0);
  const audit = new AuditLog(store, undefined, clock, accountSince);
  const access = new AccessService(new GrantStore(store, podWrites), audit, accountSince, clock);
  const grants = new GrantsService(new GrantStore(store, podWrites), access, accountSince, publisher, clock);
  const files = new FilesService(store, access, publisher, clock, podWrites, undefined, options.files);
  return {
    store,
    users,
    access,
    audit,
    grants,
    files,
    events,
    signUp: async (name) => {
      await users.put(name, {}, { ifNoneMatch: '*' });
    },
  };
}
