/** Suggests the known word closest to a typo, or nothing when none is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (c === w) return candidate;
    const d = levenshtein(w, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  if (bestDistance <= tolerance) return best;
  // "talos" for "talos-proxmox", "etcd" for "etcd-direct": a word that starts a candidate is a plausible slip
  for (const candidate of candidates) if (w.length >= 3 && candidate.toLowerCase().startsWith(w)) return candidate;
  return undefined;
}

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
