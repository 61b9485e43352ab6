// Container health check for every podstore process (the image's HEALTHCHECK and compose's): exits 0
// when GET http://127.0.0.1:<port>/healthz answers 200 within 2 s, else 1. The port is the first
// argument; without one, each port a podstore process may serve on (API_PORT, BROKER_METRICS_PORT,
// WORKER_METRICS_PORT, or their defaults) is tried and any answer counts: a container runs one process.
// Plain JavaScript so that it runs in the image without a build step.
const given = process.argv[2];
const ports = given
  ? [given]
  : [
      process.env.API_PORT ?? '8080',
      process.env.BROKER_METRICS_PORT ?? '9100',
      process.env.WORKER_METRICS_PORT ?? '9101',
    ];

async function probe(port) {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`port ${port}: ${res.status}`);
}

Promise.any(ports.map(probe)).then(
  () => process.exit(0),
  () => process.exit(1),
);
