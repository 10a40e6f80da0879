// The `threads` pool: runners terminated, aborted, shut down (isolated-harness.ts).
import { runnerStopsSuite } from './isolated-harness.js';

runnerStopsSuite('threads');
