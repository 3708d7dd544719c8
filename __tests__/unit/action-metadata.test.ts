// action.yml against GitHub's rules for action metadata ("Metadata syntax for GitHub Actions",
// docs.github.com): what the Marketplace and the runner refuse, checked before they do.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

/** GitHub's "exhaustive list of all currently supported icons" (Feather v4.28.0, brand icons and a few others omitted). */
const SUPPORTED_ICONS = new Set([
  'activity',
  'airplay',
  'alert-circle',
  'alert-octagon',
  'alert-triangle',
  'align-center',
  'align-justify',
  'align-left',
  'align-right',
  'anchor',
  'aperture',
  'archive',
  'arrow-down-circle',
  'arrow-down-left',
  'arrow-down-right',
  'arrow-down',
  'arrow-left-circle',
  'arrow-left',
  'arrow-right-circle',
  'arrow-right',
  'arrow-up-circle',
  'arrow-up-left',
  'arrow-up-right',
  'arrow-up',
  'at-sign',
  'award',
  'bar-chart-2',
  'bar-chart',
  'battery-charging',
  'battery',
  'bell-off',
  'bell',
  'bluetooth',
  'bold',
  'book-open',
  'book',
  'bookmark',
  'box',
  'briefcase',
  'calendar',
  'camera-off',
  'camera',
  'cast',
  'check-circle',
  'check-square',
  'check',
  'chevron-down',
  'chevron-left',
  'chevron-right',
  'chevron-up',
  'chevrons-down',
  'chevrons-left',
  'chevrons-right',
  'chevrons-up',
  'circle',
  'clipboard',
  'clock',
  'cloud-drizzle',
  'cloud-lightning',
  'cloud-off',
  'cloud-rain',
  'cloud-snow',
  'cloud',
  'code',
  'command',
  'compass',
  'copy',
  'corner-down-left',
  'corner-down-right',
  'corner-left-down',
  'corner-left-up',
  'corner-right-down',
  'corner-right-up',
  'corner-up-left',
  'corner-up-right',
  'cpu',
  'credit-card',
  'crop',
  'crosshair',
  'database',
  'delete',
  'disc',
  'dollar-sign',
  'download-cloud',
  'download',
  'droplet',
  'edit-2',
  'edit-3',
  'edit',
  'external-link',
  'eye-off',
  'eye',
  'fast-forward',
  'feather',
  'file-minus',
  'file-plus',
  'file-text',
  'file',
  'film',
  'filter',
  'flag',
  'folder-minus',
  'folder-plus',
  'folder',
  'gift',
  'git-branch',
  'git-commit',
  'git-merge',
  'git-pull-request',
  'globe',
  'grid',
  'hard-drive',
  'hash',
  'headphones',
  'heart',
  'help-circle',
  'home',
  'image',
  'inbox',
  'info',
  'italic',
  'layers',
  'layout',
  'life-buoy',
  'link-2',
  'link',
  'list',
  'loader',
  'lock',
  'log-in',
  'log-out',
  'mail',
  'map-pin',
  'map',
  'maximize-2',
  'maximize',
  'menu',
  'message-circle',
  'message-square',
  'mic-off',
  'mic',
  'minimize-2',
  'minimize',
  'minus-circle',
  'minus-square',
  'minus',
  'monitor',
  'moon',
  'more-horizontal',
  'more-vertical',
  'move',
  'music',
  'navigation-2',
  'navigation',
  'octagon',
  'package',
  'paperclip',
  'pause-circle',
  'pause',
  'percent',
  'phone-call',
  'phone-forwarded',
  'phone-incoming',
  'phone-missed',
  'phone-off',
  'phone-outgoing',
  'phone',
  'pie-chart',
  'play-circle',
  'play',
  'plus-circle',
  'plus-square',
  'plus',
  'pocket',
  'power',
  'printer',
  'radio',
  'refresh-ccw',
  'refresh-cw',
  'repeat',
  'rewind',
  'rotate-ccw',
  'rotate-cw',
  'rss',
  'save',
  'scissors',
  'search',
  'send',
  'server',
  'settings',
  'share-2',
  'share',
  'shield-off',
  'shield',
  'shopping-bag',
  'shopping-cart',
  'shuffle',
  'sidebar',
  'skip-back',
  'skip-forward',
  'slash',
  'sliders',
  'smartphone',
  'speaker',
  'square',
  'star',
  'stop-circle',
  'sun',
  'sunrise',
  'sunset',
  'table',
  'tablet',
  'tag',
  'target',
  'terminal',
  'thermometer',
  'thumbs-down',
  'thumbs-up',
  'toggle-left',
  'toggle-right',
  'trash-2',
  'trash',
  'trending-down',
  'trending-up',
  'triangle',
  'truck',
  'tv',
  'type',
  'umbrella',
  'underline',
  'unlock',
  'upload-cloud',
  'upload',
  'user-check',
  'user-minus',
  'user-plus',
  'user-x',
  'user',
  'users',
  'video-off',
  'video',
  'voicemail',
  'volume-1',
  'volume-2',
  'volume-x',
  'volume',
  'watch',
  'wifi-off',
  'wifi',
  'wind',
  'x-circle',
  'x-square',
  'x',
  'zap-off',
  'zap',
  'zoom-in',
  'zoom-out',
])

/** Feather icons GitHub omits on purpose, `key` among them. */
const OMITTED_ICONS = [
  'coffee',
  'columns',
  'divide-circle',
  'divide-square',
  'divide',
  'frown',
  'hexagon',
  'key',
  'meh',
  'mouse-pointer',
  'smile',
  'tool',
  'x-octagon',
]

const COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark']

/** An input or output id: starts with a letter or _, then letters, digits, - and _. */
const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/

const root = process.cwd()
const manifest = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as Record<string, unknown>

function record(value: unknown): Record<string, unknown> {
  expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true)
  return value as Record<string, unknown>
}

function keysOf(value: unknown): string[] {
  return Object.keys(record(value))
}

describe('action.yml follows GitHub metadata syntax', () => {
  test('has a name, a description and runs, and nothing GitHub does not know', () => {
    expect(typeof manifest.name === 'string' && manifest.name.trim() !== '').toBe(true)
    expect(typeof manifest.description === 'string' && manifest.description.trim() !== '').toBe(true)
    expect(manifest.runs).toBeDefined()
    expect(
      keysOf(manifest).filter(
        (key) => !['name', 'author', 'description', 'inputs', 'outputs', 'runs', 'branding'].includes(key),
      ),
    ).toEqual([])
  })

  test('brands with a Feather icon GitHub supports and an allowed colour', () => {
    const branding = record(manifest.branding)
    expect(keysOf(branding).sort()).toEqual(['color', 'icon'])
    expect(SUPPORTED_ICONS.has(String(branding.icon))).toBe(true)
    expect(OMITTED_ICONS).not.toContain(branding.icon)
    expect(COLORS).toContain(branding.color)
  })

  test("the icon list is GitHub's: no omitted icon in it, none twice", () => {
    expect(SUPPORTED_ICONS.size).toBe(257)
    expect(OMITTED_ICONS.filter((icon) => SUPPORTED_ICONS.has(icon))).toEqual([])
  })

  test("names every input by GitHub's id rule, lower case and unique, with a description and string default", () => {
    const inputs = record(manifest.inputs)
    const ids = Object.keys(inputs)
    expect(ids.filter((id) => !ID.test(id) || id !== id.toLowerCase())).toEqual([])
    // The runner reads INPUT_<ID upper-cased>: ids that differ only in case would collide.
    expect(new Set(ids.map((id) => id.toUpperCase())).size).toBe(ids.length)
    for (const [id, value] of Object.entries(inputs)) {
      const input = record(value)
      expect([
        id,
        keysOf(input).filter((key) => !['description', 'required', 'default', 'deprecationMessage'].includes(key)),
      ]).toEqual([id, []])
      expect([id, typeof input.description === 'string' && input.description !== '']).toEqual([id, true])
      if ('required' in input) expect([id, typeof input.required]).toEqual([id, 'boolean'])
      if ('default' in input) expect([id, typeof input.default]).toEqual([id, 'string'])
    }
  })

  test("names every output by GitHub's id rule, with a description", () => {
    for (const [id, value] of Object.entries(record(manifest.outputs))) {
      expect([id, ID.test(id)]).toEqual([id, true])
      const output = record(value)
      expect([id, keysOf(output)]).toEqual([id, ['description']])
      expect([id, typeof output.description === 'string' && output.description !== '']).toEqual([id, true])
    }
  })

  test('runs on node24 with main and post files that exist', () => {
    const runs = record(manifest.runs)
    expect(runs.using).toBe('node24')
    expect(keysOf(runs).filter((key) => !['using', 'main', 'pre', 'pre-if', 'post', 'post-if'].includes(key))).toEqual(
      [],
    )
    for (const entry of ['main', 'post']) {
      const file = runs[entry]
      expect([entry, typeof file === 'string' && existsSync(join(root, file))]).toEqual([entry, true])
    }
  })
})
