/** The seeded PRNG of src/stats/random.ts (mulberry32), so tests and benchmarks generate the same data every run. */
export { seededRandom } from '../../src/stats/random.js';
