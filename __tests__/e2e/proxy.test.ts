import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { startForwardProxy, type ForwardProxy } from '../../harness/proxy.ts'
import { runJob } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks } from '../helpers/action.ts'

let dg: DeepgramEmulator
let proxy: ForwardProxy
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
  proxy = await startForwardProxy()
})
afterEach(async () => {
  await Promise.all([dg.close(), proxy.close()])
})

const emulatorHost = () => new URL(dg.url).host

describe('self-hosted runners behind a proxy', () => {
  test('send every request through HTTP_PROXY', async () => {
    // The usage report's reads go the same way; without them, one request a step.
    const { main, post } = await runJob({
      inputs: deepgramInputs(dg, { 'usage-report': 'false' }),
      env: { HTTP_PROXY: proxy.url },
    })
    expect(main.exitCode).toBe(0)
    expect(post.exitCode).toBe(0)
    expect(proxy.hits).toEqual([emulatorHost(), emulatorHost()])
    expect(dg.liveKeys()).toEqual([])
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('honour lower-case http_proxy too', async () => {
    const { main } = await runJob({ inputs: deepgramInputs(dg), env: { http_proxy: proxy.url } })
    expect(main.exitCode).toBe(0)
    expect(proxy.hits.length).toBeGreaterThan(0)
  })

  test('go direct to hosts listed in NO_PROXY', async () => {
    const { main } = await runJob({ inputs: deepgramInputs(dg), env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } })
    expect(main.exitCode).toBe(0)
    expect(proxy.hits).toEqual([])
    expect(dg.requests.length).toBeGreaterThan(0)
  })

  test('go direct when no proxy is set', async () => {
    const { main } = await runJob({ inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(0)
    expect(proxy.hits).toEqual([])
  })
})
