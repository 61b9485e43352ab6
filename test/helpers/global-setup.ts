/**
 * Vitest global setup of the integration tests: provisions MinIO and nats-server once per run and
 * exports MINIO_BIN and NATS_BIN to the test workers (forked after this runs, they inherit
 * process.env). If provisioning fails the whole run fails with the script's message; tests are never
 * skipped for want of a binary.
 */
import { provisionBinaries } from '../../deploy/local/provision-binaries.ts';

export default provisionBinaries;
