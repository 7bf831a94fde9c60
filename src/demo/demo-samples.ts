/**
 * The demo network's sample files, made on the fly: short texts and a few binary files of some
 * MiB, under names that share words across peers ("lisbon", "recipe", "welcome"), so that a
 * search finds hits from several peers and a download can pull one file from several sources.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;

interface Sample {
  name: string;
  /** Which peers hold it (indexes, taken modulo the number of peers). */
  holders: number[];
  /** The content, made once: every holder has the same bytes, so the same file id. */
  content: () => Buffer;
}

const text = (lines: string[]) => () => Buffer.from(lines.join('\n') + '\n');

const SAMPLES: Sample[] = [
  { name: 'sunset-over-lisbon.jpg', holders: [0, 2], content: () => randomBytes(2 * MiB + 12_345) },
  { name: 'lisbon-tram-ride.mp4', holders: [1, 3, 4], content: () => randomBytes(5 * MiB + 4_321) },
  { name: 'ocean-waves-loop.flac', holders: [3], content: () => randomBytes(3 * MiB + 777) },
  { name: 'holiday-photos-2023.zip', holders: [2, 4], content: () => randomBytes(4 * MiB) },
  { name: 'bird-song-dataset.csv.gz', holders: [4], content: () => randomBytes(MiB + 99) },
  {
    name: 'lisbon-travel-notes.txt',
    holders: [0],
    content: text([
      'Lisbon, day one: tram 28 up to the castle, custard tarts in Belém.',
      'Day two: Sintra by train; fog, then sun.',
    ]),
  },
  {
    name: 'recipe-lemon-tart.txt',
    holders: [1, 3],
    content: text([
      'Lemon tart',
      '',
      'Pastry: 200 g flour, 100 g butter, 1 egg.',
      'Filling: 3 lemons, 150 g sugar, 3 eggs, 100 ml cream.',
    ]),
  },
  {
    name: 'recipe-pasta-al-limone.txt',
    holders: [2],
    content: text(['Pasta al limone', '', 'Spaghetti, butter, the zest and juice of a lemon, parmesan, black pepper.']),
  },
  {
    name: 'poem-ode-to-the-sea.txt',
    holders: [3],
    content: text([
      'Here, surrounding the island, there is sea.',
      'But what sea? It is always overflowing.',
      '— after Pablo Neruda',
    ]),
  },
  {
    name: 'meeting-notes-2024-03.md',
    holders: [4],
    content: text([
      '# Meeting notes, March 2024',
      '',
      '- ship the demo network',
      '- more sample files with shared words',
    ]),
  },
];

export interface DemoFolder {
  /** The folder to share. */
  path: string;
  /** How many files it holds. */
  files: number;
}

/** Write each peer's sample files into `<root>/peer-N/shared`; returns the folders, in peer order. */
export function writeSamples(root: string, peers: number): DemoFolder[] {
  const folders = Array.from({ length: peers }, (_, i) => {
    const path = join(root, `peer-${i + 1}`, 'shared');
    mkdirSync(path, { recursive: true });
    // A welcome note on every peer, different on each: a search for "welcome" hears from all.
    writeFileSync(
      join(path, `welcome-from-peer-${i + 1}.txt`),
      `Welcome! This is peer ${i + 1} of the peershare demo network.\n`,
    );
    return { path, files: 1 };
  });
  for (const sample of SAMPLES) {
    const holders = [...new Set(sample.holders.map((h) => h % peers))];
    const content = sample.content();
    for (const h of holders) {
      writeFileSync(join(folders[h]!.path, sample.name), content);
      folders[h]!.files += 1;
    }
  }
  return folders;
}
