// The process's own metrics (memory, heap, CPU, event-loop lag, GC, open files) from prom-client's
// default collectors, in one registry per process that every broker's /metrics appends.
import { Registry, collectDefaultMetrics } from 'prom-client';

let registry: Registry | null = null;

/**
 * The process registry, made on first use. One per process, not one per broker, on purpose: the
 * default collectors install process-wide hooks (a GC PerformanceObserver, an event-loop delay
 * monitor) that prom-client gives no way to stop, so one per broker would pile up in a process that
 * starts many (tests, embedders). What they measure is the process's anyway, whichever broker asks.
 * It is not prom-client's global default registry, which an embedding application may use itself.
 */
export function processRegistry(): Registry {
  if (registry === null) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
