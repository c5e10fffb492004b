#!/usr/bin/env node
// Enforcement with MQTT.js (npm `mqtt`) over mqtts with client certificates, MQTT 5.0: device1
// (CA chain, CN device1) publishes its own telemetry to device2 (thumbprint); device2's own
// telemetry publish is refused with PUBACK 0x87; an unknown Username gets CONNACK 0x86.
// Environment from enf_lib.sh (EG_TLS_PORT, EG_CERTS). Prints ok/not ok lines, then `# done`.
'use strict'
const fs = require('fs')
const path = require('path')
const mqtt = require('mqtt')

const PORT = Number(process.env.EG_TLS_PORT)
const CERTS = process.env.EG_CERTS
const RUN = `${process.pid}`
const clients = []

function ok (name) { console.log(`ok - ${name}`) }
function notOk (name, reason) {
  console.log(`not ok - ${name}`)
  for (const line of String(reason).split('\n').slice(0, 20)) console.log(`# ${line}`)
}
function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms) })
  ]).finally(() => clearTimeout(timer))
}
const read = (name) => fs.readFileSync(path.join(CERTS, name))

// connect(device, username): resolves {client, connack} or rejects with the CONNACK error.
function connect (device, username) {
  return withTimeout(new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtts://localhost:${PORT}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: `js-${device}-${RUN}-${Math.random().toString(16).slice(2, 8)}`,
      username,
      ca: read('ca.pem'),
      cert: read(`${device}.pem`),
      key: read(`${device}.key`)
    })
    clients.push(client)
    client.got = []
    client.on('message', (topic, payload) => client.got.push([topic, payload.toString()]))
    client.once('connect', (connack) => resolve({ client, connack }))
    client.once('error', reject)
  }), 6000, `connect ${device}`)
}

async function main () {
  const name1 = 'MQTT.js v5 mqtts: device1 publishes its own telemetry (PUBACK success), device2 receives it'
  const name2 = 'MQTT.js v5 mqtts: device2 publishing telemetry gets PUBACK 0x87 (error code 135)'
  const name3 = 'MQTT.js v5 mqtts: unknown Username refused with CONNACK 0x86 (code 134)'
  try {
    const { client: sub } = await connect('device2', 'device2')
    const granted = await sub.subscribeAsync('devices/+/telemetry/#', { qos: 1 })
    if (granted[0].qos !== 1) throw new Error(`SUBACK ${JSON.stringify(granted)}`)
    const { client: pub } = await connect('device1', 'device1')
    const packet = await withTimeout(pub.publishAsync(`devices/device1/telemetry/js${RUN}`, 'js-21.5', { qos: 1 }), 5000, 'publish')
    const deadline = Date.now() + 5000
    while (sub.got.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const want = JSON.stringify([[`devices/device1/telemetry/js${RUN}`, 'js-21.5']])
    if (JSON.stringify(sub.got) === want && (!packet || !packet.reasonCode)) ok(name1)
    else notOk(name1, `received ${JSON.stringify(sub.got)}, PUBACK ${JSON.stringify(packet && packet.reasonCode)}`)
  } catch (e) {
    notOk(name1, e && e.stack ? e.stack : e)
  }
  try {
    const { client: d2 } = await connect('device2', 'device2')
    let code = 'accepted'
    try {
      await withTimeout(d2.publishAsync('devices/device2/telemetry', 'no', { qos: 1 }), 5000, 'publish')
    } catch (e) {
      code = e.code
    }
    if (code === 0x87 && d2.connected) ok(name2)
    else notOk(name2, `publish outcome ${code}, connected ${d2.connected}`)
  } catch (e) {
    notOk(name2, e && e.stack ? e.stack : e)
  }
  try {
    let code = 'connected'
    try {
      await connect('device1', 'nobody')
    } catch (e) {
      code = e.code
    }
    if (code === 0x86) ok(name3)
    else notOk(name3, `outcome ${code}`)
  } catch (e) {
    notOk(name3, e && e.stack ? e.stack : e)
  }
  clients.forEach((c) => c.end(true))
  console.log('# done')
}

main()
