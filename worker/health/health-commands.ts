/**
 * The `health` service: `health.storage` answers this worker's last known storage state from memory.
 * The broker sends `health` commands to a live worker even when all are at capacity (broker-core.ts),
 * so the api's /readyz reflects the storage, not the load.
 */
import { SERVICES } from '../../protocol/commands.ts';
import type { CommandRouter } from '../command-router.ts';
import type { StorageHealth } from './storage-health.ts';

/** Must match HEALTH_SERVICE in broker/broker-core.ts and the api's /readyz (api/routes/health.ts). */
export const HEALTH_SERVICE = SERVICES.health;

export function registerHealthCommands(router: CommandRouter, storage: StorageHealth): void {
  router.register('health.storage', async () => {
    const { ok, detail, checkedAt } = storage.state;
    return { storage: ok ? 'ok' : 'unavailable', detail, checkedAt: new Date(checkedAt).toISOString() };
  });
}
