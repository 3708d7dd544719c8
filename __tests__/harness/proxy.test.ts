import { ProxyAgent, request } from 'undici'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { startForwardProxy } from '../../harness/proxy.ts'

test('tunnels a request to the emulator through CONNECT and records the target', async () => {
  const emulator = await startDeepgramEmulator({})
  const proxy = await startForwardProxy()
  const agent = new ProxyAgent(proxy.url)
  try {
    const response = await request(`${emulator.url}/v1/projects`, {
      dispatcher: agent,
      headers: { authorization: `Token ${DEFAULT_ACCOUNT.apiKey}` },
    })
    const body: unknown = await response.body.json()

    expect(response.statusCode).toBe(200)
    expect(body).toEqual({ projects: [{ project_id: DEFAULT_PROJECT.projectId, name: DEFAULT_PROJECT.name }] })
    expect(proxy.hits).toEqual([new URL(emulator.url).host])
    expect(emulator.requests).toHaveLength(1)
  } finally {
    await agent.close()
    await proxy.close()
    await emulator.close()
  }
})
