/** Which compiled micro-benchmark files to run: *.bench.js, filtered by substrings. */
export function selectBenchFiles(names: readonly string[], filters: readonly string[]): string[] {
  return names
    .filter((n) => n.endsWith('.bench.js'))
    .filter((n) => filters.length === 0 || filters.some((f) => n.includes(f)))
    .sort();
}
