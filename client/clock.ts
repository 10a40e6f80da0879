// The clock of the client's timeouts (requests, unconfirmed and held publishes): monotonic, so a
// wall-clock step (NTP, a resumed VM) neither fails every pending request at once nor, stepping
// back, holds their timeouts off for as long as the step. Never 0, which marks "not written".
/** Whole milliseconds on a monotonic clock; at least 1. */
export const monotonicMs = (): number => Math.max(1, Math.floor(performance.now()));
