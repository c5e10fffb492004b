#!/usr/bin/env node
// End-to-end scenarios for the real broker with MQTT.js (npm `mqtt`), protocol versions 4
// (3.1.1) and 5. usage: node mqttjs_broker.js PORT
//
// Prints one `ok - NAME` or `not ok - NAME` line per check (reasons on `#` lines), then
// `# done`. Every scenario is bounded in time; clients are closed when it ends.
'use strict'
const mqtt = require('mqtt')

const PORT = Number(process.argv[2])
const URL = `mqtt://127.0.0.1:${PORT}`
const RUN = `${process.pid}`
let failures = 0
const clients = new Set()

function ok (name) { console.log(`ok - ${name}`) }
function notOk (name, reason) {
  failures++
  console.log(`not ok - ${name}`)
  for (const line of String(reason).split('\n').slice(0, 20)) console.log(`# ${line}`)
}
function expectEq (name, got, want) {
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  if (g === w) ok(name)
  else notOk(name, `expected ${w}\ngot      ${g}`)
}
function expectTrue (name, cond, reason) {
  if (cond) ok(name)
  else notOk(name, reason)
}

function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }
function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms) })
  ]).finally(() => clearTimeout(timer))
}

// connect(opts): a connected client; resolves with {client, connack}. Messages are
// collected in client.got as {topic, payload (string), packet}.
function connect (opts = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const client = mqtt.connect(URL, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: `js-${RUN}-${Math.random().toString(16).slice(2, 10)}`,
      ...opts
    })
    clients.add(client)
    client.got = []
    client.waiters = []
    // PUBLISH packets in the order they came off the wire (MQTT.js emits a QoS 2 'message'
    // only after PUBREL, so 'message' order is not wire order).
    client.wire = []
    client.on('packetreceive', (p) => { if (p.cmd === 'publish') client.wire.push([p.payload.toString(), p.qos, p.dup]) })
    client.on('message', (topic, payload, packet) => {
      client.got.push({ topic, payload: payload.toString(), packet })
      client.waiters = client.waiters.filter((w) => !w())
    })
    client.once('connect', (connack) => resolve({ client, connack }))
    client.once('error', reject)
  }), 6000, 'connect')
}

// waitFor(client, pred): until some received message satisfies pred (or count reached).
function waitMessages (client, count, ms = 5000) {
  return withTimeout(new Promise((resolve) => {
    const done = () => {
      if (client.got.length >= count) { resolve(client.got); return true }
      return false
    }
    if (!done()) client.waiters.push(done)
  }), ms, `waiting for ${count} messages (got ${client.got.length})`)
}

// marker(client, topic): publishes a marker on `topic` (which the client subscribes to)
// and waits for it: everything published to this client before has arrived by then.
async function marker (client, topic) {
  const tag = `marker-${Math.random()}`
  const before = client.got.length
  await client.publishAsync(topic, tag, { qos: 1 })
  await withTimeout(new Promise((resolve) => {
    const done = () => {
      if (client.got.slice(before).some((m) => m.payload === tag)) { resolve(); return true }
      return false
    }
    if (!done()) client.waiters.push(done)
  }), 5000, 'marker')
  client.got = client.got.filter((m) => m.payload !== tag)
}

async function end (...cs) {
  await Promise.all(cs.map((c) => withTimeout(c.endAsync(), 3000, 'end').catch(() => c.end(true))))
  cs.forEach((c) => clients.delete(c))
}

// scenario(name, fn): runs fn; an exception fails the check `name`.
async function scenario (name, fn) {
  try {
    await withTimeout(fn(), 20000, name)
  } catch (e) {
    notOk(name, `scenario failed: ${e && e.stack ? e.stack : e}`)
  }
}

async function qosRoundTrip (v) {
  const topic = `js/qos/${v}/${RUN}`
  const { client: sub } = await connect({ protocolVersion: v })
  const granted = await sub.subscribeAsync(topic, { qos: 2 })
  expectEq(`v${v} SUBACK grants QoS 2`, granted.map((g) => g.qos), [2])
  const { client: pub } = await connect({ protocolVersion: v })
  for (const q of [0, 1, 2]) await pub.publishAsync(topic, `qos${q}`, { qos: q })
  await waitMessages(sub, 3)
  for (const q of [0, 1, 2]) {
    const m = sub.got.find((x) => x.payload === `qos${q}`)
    expectEq(`v${v} QoS ${q} publish delivered once at QoS ${q}`,
      sub.got.filter((x) => x.payload === `qos${q}`).map((x) => [x.topic, x.packet.qos]), [[topic, q]])
    void m
  }
  await end(sub, pub)
}

async function retained (v) {
  const topic = `js/ret/${v}/${RUN}`
  const mark = `js/retmark/${v}/${RUN}`
  const { client: pub } = await connect({ protocolVersion: v })
  await pub.publishAsync(topic, 'kept', { qos: 1, retain: true })
  const { client: sub } = await connect({ protocolVersion: v })
  await sub.subscribeAsync([topic, mark], { qos: 1 })
  await waitMessages(sub, 1)
  expectEq(`v${v} retained message delivered on subscribe with RETAIN=1`,
    sub.got.map((m) => [m.topic, m.payload, m.packet.retain, m.packet.qos]), [[topic, 'kept', true, 1]])
  sub.got = []
  await pub.publishAsync(topic, 'live', { qos: 1, retain: true })
  await waitMessages(sub, 1)
  expectEq(`v${v} retained publish to an existing subscription arrives with RETAIN=0`,
    sub.got.map((m) => [m.payload, m.packet.retain]), [['live', false]])
  await pub.publishAsync(topic, '', { qos: 1, retain: true })
  const { client: late } = await connect({ protocolVersion: v })
  await late.subscribeAsync([topic, mark], { qos: 1 })
  await marker(late, mark)
  expectEq(`v${v} empty retained publish deletes the retained message`, late.got.map((m) => m.payload), [])
  await end(pub, sub, late)
}

async function persistent (v) {
  const id = `js-persist-${v}-${RUN}`
  const topic = `js/persist/${v}/${RUN}`
  const sessionOpts = v === 5
    ? { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } }
    : { protocolVersion: 4, clientId: id, clean: false }
  const { client: first, connack: c1 } = await connect(sessionOpts)
  expectEq(`v${v} first persistent CONNACK: session not present`, c1.sessionPresent, false)
  await first.subscribeAsync(topic, { qos: 2 })
  await end(first)
  const { client: pub } = await connect({ protocolVersion: v })
  await pub.publishAsync(topic, 'off-1', { qos: 1 })
  await pub.publishAsync(topic, 'off-2', { qos: 2 })
  await pub.publishAsync(topic, 'off-3', { qos: 1 })
  await end(pub)
  // The queued messages may arrive as soon as the CONNACK: collect from the start.
  const { client: again, connack: c2 } = await connect(sessionOpts)
  expectEq(`v${v} resumed CONNACK: session present`, c2.sessionPresent, true)
  await waitMessages(again, 3)
  expectEq(`v${v} clean:false session gets the QoS 1/2 messages queued while offline, in order`,
    again.wire, [['off-1', 1, false], ['off-2', 2, false], ['off-3', 1, false]])
  await end(again)
  // Clean up: a clean start ends the session.
  const { client: clean } = await connect({ protocolVersion: v, clientId: id, clean: true })
  await end(clean)
}

async function connackProperties () {
  const { client, connack } = await connect({ clientId: '', keepalive: 2000, properties: { sessionExpiryInterval: 100000 } })
  const p = connack.properties || {}
  expectEq('v5 CONNACK Maximum Packet Size 524288 (512 KiB)', p.maximumPacketSize, 524288)
  expectEq('v5 CONNACK Receive Maximum 1000', p.receiveMaximum, 1000)
  expectEq('v5 CONNACK Topic Alias Maximum 10', p.topicAliasMaximum, 10)
  expectEq('v5 CONNACK Server Keep Alive caps 2000 s at 1160 s', p.serverKeepAlive, 1160)
  expectEq('v5 CONNACK Session Expiry caps 100000 s at 3600 s', p.sessionExpiryInterval, 3600)
  expectTrue('v5 empty ClientId gets an Assigned Client Identifier',
    typeof p.assignedClientIdentifier === 'string' && p.assignedClientIdentifier.length > 0, `properties: ${JSON.stringify(p)}`)
  expectTrue('v5 CONNACK: subscription identifiers, shared subscriptions, wildcards, retain available',
    p.subscriptionIdentifiersAvailable !== false && p.sharedSubscriptionAvailable !== false &&
    p.wildcardSubscriptionAvailable !== false && p.retainAvailable !== false, `properties: ${JSON.stringify(p)}`)
  await end(client)
}

async function userProperties () {
  const topic = `js/props/${RUN}`
  const { client: sub } = await connect()
  await sub.subscribeAsync(topic, { qos: 1 })
  const { client: pub } = await connect()
  await pub.publishAsync(topic, '{"t":21.5}', {
    qos: 1,
    properties: {
      userProperties: { site: 'lab', tag: ['a', 'b'] },
      contentType: 'application/json',
      payloadFormatIndicator: true
    }
  })
  await waitMessages(sub, 1)
  const p = sub.got[0].packet.properties || {}
  expectEq('v5 user properties (including a repeated key) passed through', p.userProperties, { site: 'lab', tag: ['a', 'b'] })
  expectEq('v5 content type and payload format indicator passed through',
    [p.contentType, p.payloadFormatIndicator, sub.got[0].payload], ['application/json', true, '{"t":21.5}'])
  await end(sub, pub)
}

async function noMatchingSubscribers () {
  const { client } = await connect()
  const acks = []
  client.on('packetreceive', (p) => { if (p.cmd === 'puback') acks.push(p.reasonCode) })
  await client.publishAsync(`js/nobody/${RUN}`, 'x', { qos: 1 })
  expectEq('v5 PUBACK 0x10 (No matching subscribers) when nobody subscribes', acks, [16])
  await end(client)
}

async function topicAlias () {
  const topic = `js/alias/${RUN}/a/rather/long/topic/name`
  const { client: sub } = await connect()
  await sub.subscribeAsync(topic, { qos: 1 })
  const { client: pub } = await connect({ autoAssignTopicAlias: true })
  const sent = []
  pub.on('packetsend', (p) => { if (p.cmd === 'publish') sent.push([p.topic, p.properties && p.properties.topicAlias]) })
  for (const n of [1, 2, 3]) await pub.publishAsync(topic, `alias-${n}`, { qos: 1 })
  await waitMessages(sub, 3)
  expectTrue('MQTT.js sent the 2nd and 3rd PUBLISH as an empty topic with Topic Alias',
    sent.length === 3 && sent[0][0] === topic && sent[0][1] >= 1 && sent[1][0] === '' && sent[2][0] === '' &&
    sent[1][1] === sent[0][1], `sent: ${JSON.stringify(sent)}`)
  expectEq('v5 topic alias: all three messages arrive with the full topic',
    sub.got.map((m) => [m.topic, m.payload]), [[topic, 'alias-1'], [topic, 'alias-2'], [topic, 'alias-3']])
  await end(sub, pub)
}

async function subscriptionIdentifiers () {
  const base = `js/sid/${RUN}`
  const { client: sub } = await connect()
  await sub.subscribeAsync(`${base}/+`, { qos: 1, properties: { subscriptionIdentifier: 7 } })
  await sub.subscribeAsync(`${base}/#`, { qos: 1, properties: { subscriptionIdentifier: 9 } })
  const { client: pub } = await connect()
  await pub.publishAsync(`${base}/a`, 'both', { qos: 1 })
  await pub.publishAsync(`${base}/a/b`, 'deep', { qos: 1 })
  await waitMessages(sub, 2)
  const ids = (m) => {
    const s = m.packet.properties && m.packet.properties.subscriptionIdentifier
    return (Array.isArray(s) ? s : [s]).slice().sort((a, b) => a - b)
  }
  const both = sub.got.filter((m) => m.payload === 'both')
  expectEq('v5 message matching two subscriptions arrives once with both Subscription Identifiers',
    both.map(ids), [[7, 9]])
  expectEq('v5 message matching one subscription carries only its identifier',
    sub.got.filter((m) => m.payload === 'deep').map(ids), [[9]])
  await end(sub, pub)
}

async function messageExpiry () {
  const topic = `js/exp/${RUN}`
  const { client: sub } = await connect()
  await sub.subscribeAsync(topic, { qos: 1 })
  const { client: pub } = await connect()
  await pub.publishAsync(topic, 'live', { qos: 1, properties: { messageExpiryInterval: 60 } })
  await waitMessages(sub, 1)
  const e = sub.got[0].packet.properties && sub.got[0].packet.properties.messageExpiryInterval
  expectTrue('v5 message expiry forwarded to a live subscriber (59..60 s left)', e >= 59 && e <= 60, `messageExpiryInterval ${e}`)
  await end(sub)

  // Offline: a persistent session gets the message with the interval reduced by the time
  // it waited, and never gets one that expired while queued [MQTT-3.3.2-5, -6].
  const id = `js-exp-${RUN}`
  const opts = { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } }
  const { client: p1 } = await connect(opts)
  await p1.subscribeAsync(`${topic}/off`, { qos: 1 })
  await end(p1)
  await pub.publishAsync(`${topic}/off`, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } })
  await pub.publishAsync(`${topic}/off`, 'long', { qos: 1, properties: { messageExpiryInterval: 30 } })
  await sleep(2200)
  const { client: p2 } = await connect(opts)
  await waitMessages(p2, 1)
  await p2.subscribeAsync(`${topic}/mark`, { qos: 1 })
  await marker(p2, `${topic}/mark`)
  expectEq('v5 message that expired while queued is never delivered', p2.got.map((m) => m.payload), ['long'])
  const left = p2.got[0] && p2.got[0].packet.properties && p2.got[0].packet.properties.messageExpiryInterval
  expectTrue('v5 queued message carries its remaining expiry (<= 28 s after 2.2 s queued)', left >= 26 && left <= 28, `messageExpiryInterval ${left}`)
  await end(p2)
  const { client: clean } = await connect({ clientId: id, clean: true })
  await end(clean)

  // A retained message with expiry 1 s is not delivered to a subscriber 2 s later.
  await pub.publishAsync(`${topic}/ret`, 'ret-short', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } })
  await sleep(2100)
  const { client: late } = await connect()
  await late.subscribeAsync([`${topic}/ret`, `${topic}/mark2`], { qos: 1 })
  await marker(late, `${topic}/mark2`)
  expectEq('v5 expired retained message is not delivered to new subscribers', late.got.map((m) => m.payload), [])
  await end(pub, late)
}

async function requestResponse () {
  const { client: responder } = await connect()
  await responder.subscribeAsync(`js/rr/${RUN}/req`, { qos: 1 })
  responder.on('message', (topic, payload, packet) => {
    const p = packet.properties || {}
    if (!p.responseTopic) return
    responder.publish(p.responseTopic, `re: ${payload}`, { qos: 1, properties: { correlationData: p.correlationData } })
  })
  const { client: requester, connack } = await connect({ properties: { requestResponseInformation: true } })
  const info = connack.properties && connack.properties.responseInformation
  expectTrue('v5 CONNACK Response Information when requested', typeof info === 'string' && info.length > 0,
    `connack properties: ${JSON.stringify(connack.properties)}`)
  const replyTopic = `${info || 'js/rr'}/${RUN}/reply`
  await requester.subscribeAsync(replyTopic, { qos: 1 })
  const corr = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f])
  await requester.publishAsync(`js/rr/${RUN}/req`, 'ping', { qos: 1, properties: { responseTopic: replyTopic, correlationData: corr } })
  await waitMessages(requester, 1)
  const m = requester.got[0]
  const c = m.packet.properties && m.packet.properties.correlationData
  expectEq('v5 request/response: reply on the Response Topic with the same binary Correlation Data',
    [m.topic, m.payload, c ? Buffer.from(c).toString('hex') : null], [replyTopic, 're: ping', corr.toString('hex')])
  await end(responder, requester)
}

async function sharedSubscription () {
  const topic = `js/shared/${RUN}`
  const { client: a } = await connect()
  const { client: b } = await connect()
  await a.subscribeAsync(`$share/grp/${topic}`, { qos: 1 })
  await b.subscribeAsync(`$share/grp/${topic}`, { qos: 1 })
  const { client: pub } = await connect()
  for (let i = 0; i < 20; i++) await pub.publishAsync(topic, `s${i}`, { qos: 1 })
  await withTimeout((async () => { while (a.got.length + b.got.length < 20) await sleep(50) })(), 5000, 'shared 20 messages')
  await sleep(200)
  const all = a.got.concat(b.got).map((m) => m.payload).sort()
  const want = Array.from({ length: 20 }, (_, i) => `s${i}`).sort()
  expectEq('v5 shared subscription: each of 20 messages delivered to exactly one group member', all, want)
  await end(a, b, pub)
}

async function noLocal () {
  const topic = `js/nl/${RUN}`
  const { client: self } = await connect()
  await self.subscribeAsync(topic, { qos: 1, nl: true })
  await self.subscribeAsync(`${topic}/mark`, { qos: 1 })
  await self.publishAsync(topic, 'own', { qos: 1 })
  await marker(self, `${topic}/mark`)
  expectEq('v5 No Local: own publications are not delivered back', self.got.map((m) => m.payload), [])
  await end(self)
}

async function retainOptions () {
  const topic = `js/ropt/${RUN}`
  const { client: pub } = await connect()
  await pub.publishAsync(topic, 'stored', { qos: 1, retain: true })
  // Retain Handling 2: no retained messages at subscribe.
  const { client: rh2 } = await connect()
  await rh2.subscribeAsync([topic], { qos: 1, rh: 2 })
  await rh2.subscribeAsync(`${topic}/mark`, { qos: 1 })
  await marker(rh2, `${topic}/mark`)
  expectEq('v5 Retain Handling 2: no retained message at subscribe', rh2.got.map((m) => m.payload), [])
  // Retain Handling 1: retained only for a new subscription, not when it is renewed.
  const { client: rh1 } = await connect()
  await rh1.subscribeAsync(`${topic}/mark`, { qos: 1 })
  await rh1.subscribeAsync(topic, { qos: 1, rh: 1 })
  await rh1.subscribeAsync(topic, { qos: 1, rh: 1 })
  await marker(rh1, `${topic}/mark`)
  expectEq('v5 Retain Handling 1: retained message once, not again on re-subscribe', rh1.got.map((m) => m.payload), ['stored'])
  // Retain As Published: a live retained publish keeps RETAIN=1.
  const { client: rap } = await connect()
  await rap.subscribeAsync(topic, { qos: 1, rap: true, rh: 2 })
  await pub.publishAsync(topic, 'rap-live', { qos: 1, retain: true })
  await waitMessages(rap, 1)
  expectEq('v5 Retain As Published: live retained publish arrives with RETAIN=1', rap.got.map((m) => [m.payload, m.packet.retain]), [['rap-live', true]])
  await pub.publishAsync(topic, '', { qos: 1, retain: true })
  await end(pub, rh2, rh1, rap)
}

// SPEC 5/6: a disconnected session's queue holds at most 100 messages or 1 MB; past that
// the session is terminated (SessionOverflow), so the next CONNECT finds no session.
async function sessionOverflow () {
  const run = async (label, count, size) => {
    const id = `js-ovf-${label}-${RUN}`
    const topic = `js/ovf/${label}/${RUN}`
    const opts = { clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } }
    const { client: s1 } = await connect(opts)
    await s1.subscribeAsync(topic, { qos: 1 })
    await end(s1)
    const { client: pub } = await connect()
    const payload = Buffer.alloc(size, 0x61)
    for (let i = 0; i < count; i++) await pub.publishAsync(topic, payload, { qos: 1 })
    await end(pub)
    const { client: s2, connack } = await connect(opts)
    await s2.subscribeAsync(`${topic}/mark`, { qos: 1 })
    if (connack.sessionPresent) await waitMessages(s2, count, 10000).catch(() => {})
    await marker(s2, `${topic}/mark`)
    const result = [connack.sessionPresent, s2.got.length]
    await end(s2)
    const { client: clean } = await connect({ clientId: id, clean: true })
    await end(clean)
    return result
  }
  expectEq('offline queue of 100 QoS 1 messages is kept and delivered', await run('100', 100, 10), [true, 100])
  expectEq('101st offline message ends the session (SessionOverflow): no session, no messages',
    await run('101', 101, 10), [false, 0])
  expectEq('offline queue over 1 MB (3 x 400 KiB) ends the session', await run('bytes', 3, 400 * 1024), [false, 0])
}

async function main () {
  for (const v of [4, 5]) {
    await scenario(`v${v} QoS round trip`, () => qosRoundTrip(v))
    await scenario(`v${v} retained`, () => retained(v))
    await scenario(`v${v} persistent session`, () => persistent(v))
  }
  await scenario('v5 CONNACK properties', connackProperties)
  await scenario('v5 user properties', userProperties)
  await scenario('v5 no matching subscribers', noMatchingSubscribers)
  await scenario('v5 topic alias', topicAlias)
  await scenario('v5 subscription identifiers', subscriptionIdentifiers)
  await scenario('v5 message expiry', messageExpiry)
  await scenario('v5 request/response', requestResponse)
  await scenario('v5 shared subscription', sharedSubscription)
  await scenario('v5 no local', noLocal)
  await scenario('v5 retain options', retainOptions)
  await scenario('v5 session overflow', sessionOverflow)
  for (const c of clients) c.end(true)
  console.log(`# done, ${failures} failed`)
  process.exit(failures ? 1 : 0)
}

main().catch((e) => { console.log(`not ok - mqttjs harness\n# ${e.stack}`); process.exit(1) })
