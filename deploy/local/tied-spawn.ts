/**
 * spawn() for children that must not outlive their parent, even when the parent dies by SIGKILL (a test
 * runner killed mid-run, a crashed benchmark, `kill -9` of `npm start`): on Linux they start under
 * `setpriv --pdeathsig KILL`, which asks the kernel to kill the child when its parent dies and then execs
 * the command (same pid, same signals). Elsewhere, or without setpriv, it is a plain spawn, and the
 * parent's exit handlers remain the only guard (they cannot run on SIGKILL).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

/** Whether children die with their parent on this machine. */
export const childrenDieWithParent = process.platform === 'linux' && existsSync(SETPRIV);

export function spawnTied(command: string, args: string[], options: SpawnOptions): ChildProcess {
  if (!childrenDieWithParent) return spawn(command, args, options);
  return spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options);
}
