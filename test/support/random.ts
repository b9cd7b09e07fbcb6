/** Deterministic randomness for tests: the project's one seeded generator. */
export { seededRandom } from '../../src/core/random.js';
