// The machine a bench ran on, for its output and the README's performance table: cores (as nproc
// counts them), CPU model, RAM, Node version and the load average (other work on a shared
// machine moves every figure).
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** { cores, model, ramGiB, node, load } of this machine, now. */
export function machineInfo() {
  return {
    cores: availableParallelism(),
    model: cpus()[0]?.model?.trim() || '?',
    ramGiB: totalmem() / 2 ** 30,
    node: process.version,
    load: loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

/** One line: "2 cores (AMD EPYC), 23.4 GiB RAM, node v20.20.2, load average 0.52 0.80 1.20". */
export function machineLine(m = machineInfo()) {
  return `${m.cores} cores (${m.model}), ${m.ramGiB.toFixed(1)} GiB RAM, node ${m.node}, load average ${m.load}`;
}
