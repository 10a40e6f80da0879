// The `processes` pool: results, failures, retries, the soft limit and loading the app (isolated-harness.ts).
import { basicsSuite } from './isolated-harness.js';

basicsSuite('processes');
