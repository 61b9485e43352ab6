/**
 * Picks the object store from configuration: S3 when an endpoint is set, else the filesystem adapter
 * under `dataDir` (the embedded default).
 */
import { FsObjectStore } from './fs-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-store.ts';

export interface ObjectStoreConfig {
  /** `''`: use the filesystem store; else `http://host:port` or `https://...` of an S3 server. */
  minioEndpoint: string;
  minioAccessKey: string;
  minioSecretKey: string;
  minioBucket: string;
  minioRegion: string;
  /** Root folder of the filesystem store. */
  dataDir: string;
}

export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  if (config.minioEndpoint.trim() !== '') {
    return new S3ObjectStore({
      endpoint: config.minioEndpoint.trim(),
      accessKey: config.minioAccessKey,
      secretKey: config.minioSecretKey,
      bucket: config.minioBucket,
      region: config.minioRegion,
    });
  }
  return new FsObjectStore(config.dataDir);
}
