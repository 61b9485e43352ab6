/** The environment that points a stack's workers at a test MinIO server and one bucket of it. */
import type { MinioServer } from '../../deploy/local/servers.ts';

export const minioEnv = (minio: MinioServer, bucket: string) => ({
  MINIO_ENDPOINT: minio.endpoint,
  MINIO_ACCESS_KEY: minio.accessKey,
  MINIO_SECRET_KEY: minio.secretKey,
  MINIO_BUCKET: bucket,
});
