// The `threads` pool: runners killed at the hard limit, lost and replaced, recycled (isolated-harness.ts).
import { runnerLimitsSuite } from './isolated-harness.js';

runnerLimitsSuite('threads');
