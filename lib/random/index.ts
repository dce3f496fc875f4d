/**
 * Exact ports of the reference's random number generators: numpy's `default_rng` + `shuffle`
 * (epoch order) and CPython's `random` (sampling).
 *
 * @module
 */
export { parseSeed, toUint32Words, type ParseSeedOptions, type Seed } from './seed.js';
export {
  NumpyGenerator,
  numpyRng,
  seedSequenceGenerateState,
  seedSequencePool,
  shuffled,
  type MutableArrayLike,
  type NumpyRngState,
} from './numpyGenerator.js';
export {
  PythonRandom,
  pythonChoice,
  pythonRandbelow,
  pythonRandom,
  pythonRandomFloat,
  pythonSample,
  pythonSamplePositions,
  pythonShuffled,
  sampleSetsize,
  type PythonRandomState,
} from './pythonRandom.js';
