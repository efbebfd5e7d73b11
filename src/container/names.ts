import { randomInt } from 'node:crypto';
import { InvalidParameterError } from '../errors';

// Our own word lists (adjectives and scientists), for Docker-style generated names.
const LEFT = [
  'admiring', 'agile', 'amazing', 'bold', 'brave', 'calm', 'clever', 'cool', 'crisp', 'dazzling', 'eager', 'elastic',
  'epic', 'fervent', 'focused', 'gallant', 'gentle', 'happy', 'hopeful', 'jolly', 'keen', 'kind', 'lucid', 'modest',
  'nimble', 'optimistic', 'patient', 'quiet', 'relaxed', 'serene', 'sharp', 'steady', 'tender', 'upbeat', 'vibrant',
  'wise', 'witty', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'agnesi', 'babbage', 'bohr', 'cannon', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'faraday', 'fermi',
  'franklin', 'galileo', 'gauss', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamarr', 'lovelace',
  'maxwell', 'meitner', 'mendel', 'newton', 'noether', 'pascal', 'planck', 'ritchie', 'sagan', 'shannon', 'tesla',
  'thompson', 'turing', 'volta', 'wozniak', 'yalow',
];

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 100; i++) {
    const name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}${i > 10 ? randomInt(10) : ''}`;
    if (!taken(name)) return name;
  }
  throw new Error('could not generate a free container name');
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's rule for container names; returns the name without the leading slash. */
export function checkName(name: string): string {
  if (!NAME_RE.test(name)) throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}
