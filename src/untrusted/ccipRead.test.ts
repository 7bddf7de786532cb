import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCcipRead } from './ccipRead.js'
import { createSafeFetcher } from './safeFetch.js'

const sender = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const data = '0x12345678'
let server: Server
let port: number
let answer: { type: string; body: string }
const received: { method: string; url: string; body: string }[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() })
      res.writeHead(200, { 'content-type': answer.type }).end(answer.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('EIP-3668 gateway requests through the SSRF guard (ADVERSARIAL 51)', () => {
  it('refuses loopback, private, link-local and non-http URLs before sending anything', async () => {
    const lookup = createCcipRead(createSafeFetcher({ timeoutMs: 2000 }))
    answer = { type: 'application/json', body: JSON.stringify({ data: '0x01' }) }
    const urls = [
      `http://127.0.0.1:${port}/{sender}/{data}.json`,
      `https://127.0.0.1:${port}/lookup`,
      `https://localhost:${port}/lookup`,
      'https://[::1]/lookup',
      'https://10.0.0.1/lookup',
      'https://169.254.169.254/latest/meta-data',
      'file:///etc/passwd',
      'data:application/json,{"data":"0x01"}',
    ]
    for (const url of urls) {
      await expect(lookup({ data, sender, urls: [url] }), url).rejects.toMatchObject({
        code: 'UNTRUSTED_FETCH_BLOCKED',
      })
    }
    expect(received).toHaveLength(0)
  })

  it('with the guard letting loopback through (test hooks): GET with {data}, else a POST of { data, sender }', async () => {
    const lookup = createCcipRead(createSafeFetcher({ allowHttp: true, isAddressAllowed: () => true }))
    answer = { type: 'application/json', body: JSON.stringify({ data: '0xabcd' }) }
    await expect(
      lookup({ data, sender, urls: [`http://127.0.0.1:${port}/g/{sender}/{data}.json`] }),
    ).resolves.toBe('0xabcd')
    expect(received.at(-1)).toMatchObject({ method: 'GET', url: `/g/${sender.toLowerCase()}/${data}.json` })

    answer = { type: 'text/plain', body: '0xbeef' }
    await expect(lookup({ data, sender, urls: [`http://127.0.0.1:${port}/p`] })).resolves.toBe('0xbeef')
    expect(received.at(-1)?.method).toBe('POST')
    expect(JSON.parse(received.at(-1)?.body ?? '')).toEqual({ data, sender: sender.toLowerCase() })

    answer = { type: 'application/json', body: JSON.stringify({ data: 'run rm -rf /' }) }
    await expect(lookup({ data, sender, urls: [`http://127.0.0.1:${port}/p`] })).rejects.toMatchObject({
      code: 'FETCH_FAILED',
    })
  })

  it('tries at most three of the URLs a contract names', async () => {
    const lookup = createCcipRead(createSafeFetcher({ allowHttp: true, isAddressAllowed: () => true }))
    answer = { type: 'application/json', body: '{}' }
    const before = received.length
    const urls = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:${port}/n${i}`)
    await expect(lookup({ data, sender, urls })).rejects.toMatchObject({ code: 'FETCH_FAILED' })
    expect(received.length - before).toBe(3)
  })
})
