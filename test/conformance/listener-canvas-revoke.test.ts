// Conformance on broker-server's AMQP listener (celeriac's AMQP transport) with Redis results: the
// scenarios of canvas and revoke-workers. Only homes.ts is imported statically, so the home's
// servers start before the scenarios' modules load.
import { LISTENER_HOMES, runInHomes } from './homes.js';

runInHomes(LISTENER_HOMES, () => import('./scenarios/canvas.js'), () => import('./scenarios/revoke-workers.js'));
