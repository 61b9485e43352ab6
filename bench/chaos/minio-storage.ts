/** The chaos run's view of a local stack's object store: MinIO listed and read with the minio client (loopback). */
import { Client } from 'minio';
import type { MinioServer } from '../../deploy/local/servers.ts';
import type { ChaosStorage } from './chaos-run.ts';

export function minioStorage(
  minio: Pick<MinioServer, 'endpoint' | 'accessKey' | 'secretKey'>,
  bucket: string,
): ChaosStorage {
  const url = new URL(minio.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  return {
    async list(prefix) {
      const keys: string[] = [];
      for await (const item of client.listObjectsV2(bucket, prefix, true))
        if (typeof item.name === 'string') keys.push(item.name);
      return keys;
    },
    async read(key) {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of await client.getObject(bucket, key)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'NoSuchKey') return undefined;
        throw error;
      }
    },
  };
}
