/**
 * Processes that tests, benchmarks and the local runner start must not outlive them, even when they are
 * SIGKILLed (a CI job cancelled, a test runner killed mid-run): deploy/local/tied-spawn.ts. A parent that
 * starts a long child through spawnTied is SIGKILLed; the child must be gone at once.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { childrenDieWithParent } from '../../deploy/local/tied-spawn.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('children of a SIGKILLed parent', () => {
  it.runIf(childrenDieWithParent)('die with it', async () => {
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { spawnTied } from './deploy/local/tied-spawn.ts';
         const child = spawnTied('sleep', ['60'], { stdio: 'ignore' });
         child.once('spawn', () => process.stdout.write(String(child.pid) + '\\n'));
         setInterval(() => undefined, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const childPid = Number.parseInt(line.toString(), 10);
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    const deadline = Date.now() + 5000;
    while (alive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(childPid)).toBe(false);
  });
});
