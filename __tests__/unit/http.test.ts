import { fetchOver, type HttpRequest } from '../../src/shared/http.ts'

describe('fetchOver', () => {
  test('passes method, headers and body through, and hands back status, headers and body', async () => {
    const sent: HttpRequest[] = []
    const fetch = fetchOver(async (request) => {
      sent.push(request)
      return { status: 201, headers: { 'content-type': 'application/json', 'x-github-request-id': 'abc' }, body: '{}' }
    })
    const response = await fetch('https://api.github.com/x', { method: 'put', headers: { Authorization: 'token t' }, body: '{"a":1}' })
    expect(sent).toEqual([{ method: 'PUT', url: 'https://api.github.com/x', headers: { authorization: 'token t' }, body: '{"a":1}' }])
    expect(response.status).toBe(201)
    expect(response.headers.get('x-github-request-id')).toBe('abc')
    expect(await response.json()).toEqual({})
  })

  test('gives a 204 no body, as the fetch standard requires', async () => {
    const fetch = fetchOver(async () => ({ status: 204, headers: {}, body: '' }))
    const response = await fetch(new URL('https://api.github.com/y'))
    expect(response.status).toBe(204)
    expect(response.body).toBeNull()
  })
})
