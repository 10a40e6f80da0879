// The `threads` pool: runners killed at the hard limit, lost, recycled, terminated, shut down (isolated-harness.ts).
import { runnersSuite } from './isolated-harness.js';

runnersSuite('threads');
