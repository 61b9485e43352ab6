/** `health`, `ready`: whether the api is up and can serve. */
import type { CommandSpec } from './command.ts';

export const healthCommand: CommandSpec = {
  name: 'health',
  summary: 'is the api process up?',
  description: 'Asks the api whether its process runs (GET /healthz); prints ALIVE and its host name.',
  args: [],
  examples: ['podstore health'],
  async run({ client, print }) {
    print((await client.health()).trim(), { status: 'alive' });
  },
};

export const readyCommand: CommandSpec = {
  name: 'ready',
  summary: 'can the api serve (broker and workers answer)?',
  description:
    'Asks the api whether it can serve requests (GET /readyz): the broker answers and a worker serves. Prints how many workers; exits 1 with the problem (503) when not ready.',
  args: [],
  examples: ['podstore ready', 'until podstore ready; do sleep 1; done'],
  async run({ client, print }) {
    const ready = await client.ready();
    print(`ready: ${ready.workers} workers`, ready);
  },
};
