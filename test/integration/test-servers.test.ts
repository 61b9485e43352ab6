/** The test helpers that start real MinIO and nats-server processes: ready when resolved, gone when stopped. */
import { access } from 'node:fs/promises';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startMinio, startNats } from '../../deploy/local/servers.ts';

/** Connects to a NATS port and resolves with the server's first protocol line (INFO {...}). */
function readNatsInfo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
      const end = received.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('startMinio', () => {
  it('serves S3 on a loopback port until stopped, then removes its data', async () => {
    const minio = await startMinio();
    expect(minio.endpoint).toBe(`http://127.0.0.1:${minio.port}`);
    const live = await fetch(`${minio.endpoint}/minio/health/live`);
    expect(live.status).toBe(200);
    // Unsigned requests are refused: the server enforces credentials.
    const anonymous = await fetch(`${minio.endpoint}/some-bucket`, { method: 'PUT' });
    expect(anonymous.status).toBe(403);
    await minio.stop();
    expect(await portRefuses(minio.port)).toBe(true);
    expect(await exists(minio.dataDir)).toBe(false);
  });
});

describe('startNats', () => {
  it('serves NATS on a loopback port until stopped', async () => {
    const nats = await startNats();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const info = await readNatsInfo(nats.port);
    expect(info).toMatch(/^INFO \{/);
    expect(JSON.parse(info.slice(5)).jetstream ?? false).toBe(false);
    await nats.stop();
    expect(await portRefuses(nats.port)).toBe(true);
    expect(await exists(nats.dataDir)).toBe(false);
  });

  it('enables JetStream on request, storing in its temp folder', async () => {
    const nats = await startNats({ jetstream: true });
    try {
      const info = JSON.parse((await readNatsInfo(nats.port)).slice(5));
      expect(info.jetstream).toBe(true);
      const jsz = (await (await fetch(`${nats.monitorUrl}/jsz`)).json()) as { config: { store_dir: string } };
      expect(jsz.config.store_dir.startsWith(nats.dataDir)).toBe(true);
    } finally {
      await nats.stop();
    }
  });
});
