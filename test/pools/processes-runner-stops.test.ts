// The `processes` pool: runners terminated, aborted, shut down, killed from outside (isolated-harness.ts).
import { runnerStopsSuite } from './isolated-harness.js';

runnerStopsSuite('processes');
