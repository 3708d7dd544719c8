import { unprintableIn } from '../../src/shared/printable.ts'

describe('unprintableIn', () => {
  test.each(['nightly tests', 'Ünïcödé — 日本語 ✓', ''])('accepts printable text: %j', (text) => {
    expect(unprintableIn(text)).toBeUndefined()
  })

  test.each([
    ['\u0000', 'a control character (U+0000)'],
    ['\t', 'a control character (U+0009)'],
    ['\n', 'a control character (U+000A)'],
    ['\u007f', 'a control character (U+007F)'],
    ['\u0085', 'a control character (U+0085)'],
    ['\u2028', 'a line separator (U+2028)'],
    ['\u2029', 'a line separator (U+2029)'],
    ['\u200e', 'a bidirectional-text control (U+200E)'],
    ['\u200f', 'a bidirectional-text control (U+200F)'],
    ['\u061c', 'a bidirectional-text control (U+061C)'],
    ['\u202a', 'a bidirectional-text control (U+202A)'],
    ['\u202e', 'a bidirectional-text control (U+202E)'],
    ['\u2066', 'a bidirectional-text control (U+2066)'],
    ['\u2069', 'a bidirectional-text control (U+2069)'],
    ['\u200b', 'a zero-width character (U+200B)'],
    ['\u200d', 'a zero-width character (U+200D)'],
    ['\u2060', 'a zero-width character (U+2060)'],
    ['\ufeff', 'a zero-width character (U+FEFF)'],
  ])('names the first unprintable character %j and where it is', (char, described) => {
    expect(unprintableIn(`ab${char}c\u202e`)).toBe(`${described} at position 3`)
  })
})
