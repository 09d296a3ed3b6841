import fc from 'fast-check';

/** The seed of the short runs in the normal suite: fixed, so CI is deterministic. */
const CI_SEED = 14;

/**
 * Checks a property as the suite (few runs, fixed seed) or `npm run fuzz`
 * (FUZZ_SCALE times as many runs, a fresh seed) asks, then prints how many
 * inputs ran and the seed, so any failure can be replayed with FUZZ_SEED.
 */
export async function fuzzRun<Ts extends [unknown, ...unknown[]]>(
  name: string,
  ciRuns: number,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
): Promise<void> {
  const scale = Number(process.env.FUZZ_SCALE ?? '1');
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : scale > 1 ? Date.now() ^ (Math.random() * 0x7fffffff) : CI_SEED;
  const numRuns = Math.max(1, Math.round(ciRuns * scale));
  const started = performance.now();
  try {
    const path = process.env.FUZZ_PATH; // with FUZZ_SEED, replays one failing case (fast-check's `path`)
    await fc.assert(property as fc.IAsyncPropertyWithHooks<Ts>, { numRuns, seed, path, verbose: path !== undefined ? 2 : 0 });
  } finally {
    const ms = Math.round(performance.now() - started);
    // stderr: jest prints console.log with a stack trace; one line is what a reader wants.
    process.stderr.write(`fuzz ${name}: ${numRuns} inputs in ${ms} ms, seed ${seed} (replay: FUZZ_SEED=${seed})\n`);
  }
}
