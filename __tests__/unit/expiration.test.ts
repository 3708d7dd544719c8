import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import {
  describeExpiration,
  DURATION_EXAMPLES,
  expectedExpiry,
  MAX_EXPIRATION_DAYS,
  MAX_EXPIRATION_SECONDS,
  ExpirationError,
  parseExpiration,
} from '../../src/deepgram/expiration.ts'
import { readExpiration } from '../../src/action/inputs/domain-forms.ts'
import { InputError } from '../../src/shared/errors.ts'

const now = new Date('2026-11-28T12:00:00Z')

describe('parseExpiration', () => {
  test.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86400],
    ['1h30m', 5400],
    ['1w', 604800],
    ['3600', 3600],
    [' 2H ', 7200],
    ['1d2h3m4s', 93784],
  ])('reads the duration %p as %p seconds to live', (text, seconds) => {
    expect(parseExpiration(text, now)).toEqual({ kind: 'ttl', seconds })
  })

  test.each([
    ['2026-12-01T12:00:00Z', '2026-12-01T12:00:00.000Z'],
    ['2026-12-01T12:00:00.250Z', '2026-12-01T12:00:00.250Z'],
    ['2026-12-01T14:00:00+02:00', '2026-12-01T12:00:00.000Z'],
    ['2026-12-01T07:00:00-0500', '2026-12-01T12:00:00.000Z'],
    ['2026-12-01 12:00Z', '2026-12-01T12:00:00.000Z'],
    ['2026-11-28t12:00:01z', '2026-11-28T12:00:01.000Z'],
  ])('reads the date-time %p as an expiration date', (text, iso) => {
    const parsed = parseExpiration(text, now)
    expect(parsed.kind).toBe('date')
    expect(parsed.kind === 'date' && parsed.date.toISOString()).toBe(iso)
  })

  test.each([
    ['never', /short-lived keys/],
    ['abc', /not understood/],
    ['0', /not in the future/],
    ['0s', /not in the future/],
    ['-5m', /negative/],
    ['-30', /negative/],
    ['', /is empty/],
    ['2026-11-28T11:59:59Z', /in the past/],
    ['2020-01-01T00:00:00+00:00', /in the past/],
    ['2026-12-01T12:00:00', /no zone/],
    ['2026-12-01', /without a time and a zone/],
    ['2026-02-30T12:00:00Z', /not a valid date-time/],
    ['1.5h', /not understood/],
    ['99999999999999999999', /too large/],
  ])('refuses %p naming the input and its forms', (text, why) => {
    expect(() => parseExpiration(text, now)).toThrow(ExpirationError)
    let error: unknown
    try {
      readExpiration(text, now)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    const message = (error as InputError).message
    expect(message).toMatch(/^Input expiration: /)
    expect(message).toMatch(why)
    expect(message).toContain('90s, 30m, 2h, 1d, 2w, 1h30m')
    expect(message).toContain('ISO 8601 date-time with a zone')
  })
})

describe('the 90-day ceiling', () => {
  test('is 90 days', () => {
    expect([MAX_EXPIRATION_DAYS, MAX_EXPIRATION_SECONDS]).toEqual([90, 7_776_000])
  })

  test.each([
    ['90d', { kind: 'ttl', seconds: 7_776_000 }],
    ['2160h', { kind: 'ttl', seconds: 7_776_000 }],
    ['12w6d', { kind: 'ttl', seconds: 7_776_000 }],
    ['7776000', { kind: 'ttl', seconds: 7_776_000 }],
    ['30d', { kind: 'ttl', seconds: 2_592_000 }],
    ['2027-02-26T12:00:00Z', { kind: 'date', date: new Date('2027-02-26T12:00:00Z') }],
    ['2027-02-26T13:00:00+01:00', { kind: 'date', date: new Date('2027-02-26T12:00:00Z') }],
  ])('takes %p, no later than 90 days from now', (text, expected) => {
    expect(parseExpiration(text, now)).toEqual(expected)
  })

  test.each([
    ['91d', '91d'],
    ['90d1s', '90d1s'],
    ['7776001', '7776001'],
    ['13w', '13w'],
    ['1000000d', '1000000d'],
    ['2027-02-26T12:00:01Z', '2027-02-26T12:00:01Z'],
    ['2027-02-26T12:00:00-00:01', '2027-02-26T12:00:00-00:01'],
    ['4764-01-01T00:00:00Z', '4764-01-01T00:00:00Z'],
  ])('refuses %p, naming the limit', (text, shown) => {
    expect(() => parseExpiration(text, now)).toThrow(ExpirationError)
    expect(() => readExpiration(text, now)).toThrow(
      `Input expiration: '${shown}' is longer than the limit of 90 days. Give at most 90 days from now, as a duration`,
    )
  })

  test('takes a stricter limit when a policy gives one', () => {
    expect(parseExpiration('1h', now, 3600)).toEqual({ kind: 'ttl', seconds: 3600 })
    expect(() => parseExpiration('1h1s', now, 3600)).toThrow("'1h1s' is longer than the limit of 1h.")
  })
})

describe('expectedExpiry', () => {
  test('adds the time to live to the moment the request was sent', () => {
    expect(expectedExpiry({ kind: 'ttl', seconds: 3600 }, now).toISOString()).toBe('2026-11-28T13:00:00.000Z')
  })
  test('is the date itself for an expiration date', () => {
    const date = new Date('2026-12-01T00:00:00Z')
    expect(expectedExpiry({ kind: 'date', date }, now)).toBe(date)
  })
})

describe('describeExpiration', () => {
  test('speaks of a time to live in units', () => {
    expect(describeExpiration({ kind: 'ttl', seconds: 5400 })).toBe('for 1h 30m')
    expect(describeExpiration({ kind: 'ttl', seconds: 90061 })).toBe('for 1d 1h 1m 1s')
  })
  test('speaks of a date as UTC', () => {
    expect(describeExpiration({ kind: 'date', date: new Date('2026-12-01T01:00:00+01:00') })).toBe(
      'until 2026-12-01T00:00:00.000Z',
    )
  })
})

describe('the duration forms have one source', () => {
  test("action.yml's expiration description lists exactly DURATION_EXAMPLES, each of which parses", () => {
    const manifest = parse(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, { description: string }> }
    const listed = /\(([^)]*), or seconds/.exec(manifest.inputs['expiration']?.description ?? '')?.[1]?.split(', ')
    expect(listed).toEqual(DURATION_EXAMPLES)
    for (const form of DURATION_EXAMPLES) expect(parseExpiration(form, now).kind).toBe('ttl')
  })
})
