// Conformance: the scenarios of scenarios/retries-delays.ts, in every home. Only homes.ts is imported
// statically, so the homes' servers start before the scenarios' modules load.
import { runInEveryHome } from './homes.js';

runInEveryHome(() => import('./scenarios/retries-delays.js'));
