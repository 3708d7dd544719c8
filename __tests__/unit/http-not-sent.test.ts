import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { TransportError, undiciSend } from '../../src/shared/http.ts'

describe('undiciSend', () => {
  test('a header value undici refuses counts as not sent, and nothing reaches the server', async () => {
    let requests = 0
    const server = createServer((_, res) => {
      requests++
      res.end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const agent = new Agent()
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/projects`
      const send = undiciSend(agent, { timeoutMs: 5_000, maxAnswerBytes: 1 << 20 })
      const failure = await send({
        method: 'POST',
        url,
        headers: { authorization: 'Token dg\u200bkey' },
        body: '{}',
      }).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(TransportError)
      expect(failure).toMatchObject({ sent: false })
      expect((failure as TransportError).message).not.toContain('dg\u200bkey')
      // The same request with a clean header does arrive: the server was there all along.
      await send({ method: 'POST', url, headers: { authorization: 'Token dgkey' }, body: '{}' })
      expect(requests).toBe(1)
    } finally {
      await agent.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
