/** The scenarios of `npm run load`, by name. */
import type { ScenarioName } from '../args.ts';
import type { Scenario } from './common.ts';
import { largeFilesScenario } from './large-files.ts';
import { mixedScenario } from './mixed.ts';
import { processingScenario } from './processing.ts';
import { smallFilesScenario } from './small-files.ts';
import { usersScenario } from './users.ts';

/** The scenarios that are one closed loop (`hostile` is two runs of `mixed`: bench/load/hostile.ts). */
export const scenarios: Record<Exclude<ScenarioName, 'hostile'>, Scenario> = {
  users: usersScenario,
  'small-files': smallFilesScenario,
  'large-files': largeFilesScenario,
  mixed: mixedScenario,
  processing: processingScenario,
};
