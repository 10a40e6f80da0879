// "Did you mean ...?" for mistyped setting names: the nearest known name by edit distance.
// Case and underscores are ignored, so TASK_ACKS_LATE and task_acks_late both find taskAcksLate.

function fold(s: string): string {
  return s.toLowerCase().replace(/[_\-\s]/g, '');
}

/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The known name nearest to `key`, or undefined when none is near enough (more than a third of
 * the name, and more than 3 edits, away) to be a plausible typo.
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  const folded = fold(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(folded, fold(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(folded.length / 3)) ? best : undefined;
}
