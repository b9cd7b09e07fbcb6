import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'agile',
  'bold',
  'brave',
  'calm',
  'clever',
  'crisp',
  'eager',
  'gentle',
  'keen',
  'lucky',
  'merry',
  'nimble',
  'quiet',
  'rapid',
  'sharp',
  'steady',
  'swift',
  'tidy',
  'vivid',
  'wise',
];
const NOUNS = [
  'anchor',
  'beacon',
  'breeze',
  'canal',
  'comet',
  'delta',
  'ferry',
  'harbor',
  'heron',
  'keel',
  'lagoon',
  'mast',
  'pier',
  'reef',
  'rudder',
  'sail',
  'skiff',
  'tide',
  'wake',
  'wharf',
];

/** A readable default run name, `adjective-noun-123`, as MLflow gives runs created without one. */
export const generateRunName = (): string =>
  `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
