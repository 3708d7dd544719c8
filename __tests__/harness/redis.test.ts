// The tests' redis-server: started on a free port with persistence off, stopped, started again,
// frozen; and a missing one fails the test that needs it, naming the package to install.
import { createClient } from '@redis/client'
import { REDIS_MISSING, redisServerPath, startRedis } from '../../harness/redis.ts'

test('starts on 127.0.0.1 without persistence, stops, starts again on the same port, freezes and thaws', async () => {
  const redis = await startRedis()
  const client = createClient({ url: redis.url, RESP: 2, socket: { reconnectStrategy: 50 } })
  client.on('error', () => undefined)
  try {
    expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
    await client.connect()
    expect(await client.configGet('save')).toEqual({ save: '' })
    expect(await client.configGet('appendonly')).toEqual({ appendonly: 'no' })
    await client.set('a', '1')
    const firstPid = redis.pid()
    await redis.start()
    expect(redis.pid()).not.toBe(firstPid)
    expect(await client.get('a')).toBeNull()
    redis.freeze()
    const late = client.ping()
    const early = await Promise.race([late, new Promise((done) => setTimeout(() => done('no answer'), 300))])
    expect(early).toBe('no answer')
    redis.thaw()
    expect(await late).toBe('PONG')
  } finally {
    client.destroy()
    await redis.close()
  }
})

test('without redis-server, says which package to install', () => {
  expect(() => redisServerPath('/nonexistent')).toThrow(REDIS_MISSING)
  expect(REDIS_MISSING).toMatch(/apt-get install redis-server.*brew install redis/)
  expect(redisServerPath()).toMatch(/redis-server$/)
})
