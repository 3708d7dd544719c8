// A directory laid out as the kubelet lays out a mounted ConfigMap or Secret (its AtomicWriter):
// the files live in a hidden `..<timestamp>` directory, `..data` is a symlink to it, and each
// visible name is a symlink to `..data/<name>`. An update writes a new hidden directory, points
// a temporary link at it and renames that link over `..data` (one atomic step), then removes the
// old directory: the visible paths never change, and no file is ever written in place.
import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface MountedVolume {
  dir: string
  /** The visible path of a file, as a pod sees it (`<dir>/<name>`). */
  path(name: string): string
  /** Swaps in new contents for every file, as the kubelet does when the ConfigMap or Secret changes. */
  update(files: Record<string, string>): void
  remove(): void
}

export function mountedVolume(files: Record<string, string>): MountedVolume {
  const dir = mkdtempSync(join(tmpdir(), 'dg-volume-'))
  let generation = 0
  const writeGeneration = (contents: Record<string, string>): string => {
    const hidden = `..gen_${process.pid}_${++generation}`
    mkdirSync(join(dir, hidden), { mode: 0o755 })
    for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, hidden, name), text)
    return hidden
  }
  symlinkSync(writeGeneration(files), join(dir, '..data'))
  for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name))
  return {
    dir,
    path: (name) => join(dir, name),
    update: (contents) => {
      const old = readlinkSync(join(dir, '..data'))
      symlinkSync(writeGeneration(contents), join(dir, '..data_tmp'))
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
      rmSync(join(dir, old), { recursive: true, force: true })
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
