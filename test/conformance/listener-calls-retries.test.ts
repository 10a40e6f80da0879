// Conformance on broker-server's AMQP listener (celeriac's AMQP transport) with Redis results: the
// scenarios of calling-results and retries-delays. Only homes.ts is imported statically, so the
// home's servers start before the scenarios' modules load.
import { LISTENER_HOMES, runInHomes } from './homes.js';

runInHomes(LISTENER_HOMES, () => import('./scenarios/calling-results.js'), () => import('./scenarios/retries-delays.js'));
