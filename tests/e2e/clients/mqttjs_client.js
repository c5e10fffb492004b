#!/usr/bin/env node
// MQTT.js (npm "mqtt" 5.x) session against an MQTT server, for the codec tests.
//
// usage: node mqttjs_client.js PORT VERSION(4|5) CLIENT_ID
//
// Connects (username, will, v5 CONNECT properties incl. Topic Alias Maximum 4), subscribes
// to two filters with per-filter options (v5: subscription identifier 5), waits for the
// probe's messages (v5: two per filter, the second naming its topic by alias only),
// publishes at QoS 0, 1 (binary payload) and 2 (v5: with user properties and a topic alias
// set by hand, then reused automatically), tries an alias beyond the server's Topic Alias
// Maximum (v5), unsubscribes and disconnects. Prints one JSON object with what the client
// saw. Needs NODE_PATH (or a node_modules) where `mqtt` is installed. Exits 1 on timeout.
'use strict';
const mqtt = require('mqtt');

const [port, version, clientId] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const v5 = version === 5;
const prefix = v5 ? 'js5' : 'js4';
const seen = { connack: null, granted: null, messages: [], published: [], aliasError: null, unsuback: null };

const fail = (what) => {
  console.log(JSON.stringify({ ...seen, timeout: what }));
  process.exit(1);
};
const timer = setTimeout(() => fail('overall'), 12000);

const opts = {
  protocolVersion: version,
  clientId,
  clean: true,
  keepalive: 40,
  reconnectPeriod: 0,
  connectTimeout: 5000,
  username: `${prefix}-user`,
  password: `${prefix}-pass`,
  will: { topic: `${prefix}/will`, payload: Buffer.from('js-gone'), qos: 2, retain: true },
};
if (v5) {
  opts.properties = {
    sessionExpiryInterval: 300,
    receiveMaximum: 64,
    maximumPacketSize: 100000,
    topicAliasMaximum: 4,
    requestResponseInformation: true,
    requestProblemInformation: false,
    userProperties: { app: 'mqttjs', tags: ['t1', 't2'] },
  };
  opts.will.properties = { willDelayInterval: 7, contentType: 'text/will', userProperties: { wk: 'wv' } };
  opts.autoUseTopicAlias = true;
}

const plain = (props) => {
  if (!props) return null;
  const out = { ...props };
  if (Buffer.isBuffer(out.correlationData)) out.correlationData = out.correlationData.toString('utf8');
  return out;
};

const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, opts);
client.on('error', (err) => fail(`error: ${err.message}`));

const waitFor = (pred, what) =>
  new Promise((resolve) => {
    const start = Date.now();
    const poll = () => (pred() ? resolve() : Date.now() - start > 5000 ? fail(what) : setTimeout(poll, 20));
    poll();
  });

client.on('message', (topic, payload, packet) => {
  seen.messages.push({
    topic,
    wireTopic: packet.topic,
    payload: payload.toString(),
    qos: packet.qos,
    retain: packet.retain,
    properties: plain(packet.properties),
  });
});

const publish = (topic, payload, options) =>
  new Promise((resolve) => client.publish(topic, payload, options, (err) => resolve(err || null)));

client.on('connect', async (connack) => {
  seen.connack = {
    sessionPresent: connack.sessionPresent,
    code: v5 ? connack.reasonCode : connack.returnCode,
    properties: plain(connack.properties),
  };
  const filters = v5
    ? { [`${prefix}/a`]: { qos: 1, nl: true, rap: true, rh: 1 }, [`${prefix}/+/b`]: { qos: 2, rh: 2 } }
    : { [`${prefix}/a`]: { qos: 1 }, [`${prefix}/+/b`]: { qos: 2 } };
  const subOpts = v5 ? { properties: { subscriptionIdentifier: 5, userProperties: { s: 'sv' } } } : {};
  client.subscribe(filters, subOpts, (err, granted) => {
    seen.granted = err ? `error: ${err.message}` : granted.map((g) => g.qos);
  });
  await waitFor(() => seen.granted !== null, 'suback');
  await waitFor(() => seen.messages.length >= (v5 ? 4 : 2), 'messages');

  const pubs = [
    [`${prefix}/pub/q0`, 'zero', { qos: 0, retain: true }],
    [`${prefix}/pub/q1`, Buffer.from([0x00, 0x01, 0x02, 0xff]), { qos: 1 }],
    [`${prefix}/pub/q2`, 'two', { qos: 2 }],
  ];
  if (v5) {
    pubs[2][2].properties = {
      userProperties: { a: '1', multi: ['x', 'y'] },
      contentType: 'application/octet-stream',
      responseTopic: `${prefix}/reply`,
      correlationData: Buffer.from('js-corr'),
      messageExpiryInterval: 120,
      payloadFormatIndicator: true,
    };
    pubs.push([`${prefix}/alias/topic`, 'aliased-1', { qos: 1, properties: { topicAlias: 3 } }]);
    pubs.push([`${prefix}/alias/topic`, 'aliased-2', { qos: 1 }]); // autoUseTopicAlias: alias only
  }
  for (const [topic, payload, options] of pubs) {
    const err = await publish(topic, payload, options);
    if (err) fail(`publish ${topic}: ${err.message}`);
    seen.published.push(topic);
  }
  if (v5) {
    const err = await publish(`${prefix}/alias/far`, 'x', { qos: 0, properties: { topicAlias: 11 } });
    seen.aliasError = err ? err.message : null;
  }
  client.unsubscribe([`${prefix}/a`], v5 ? { properties: { userProperties: { u: 'uv' } } } : {}, (err, packet) => {
    seen.unsuback = err ? `error: ${err.message}` : (packet && packet.reasonCode) ?? 0;
  });
  await waitFor(() => seen.unsuback !== null, 'unsuback');
  const endOpts = v5 ? { reasonCode: 0, properties: { reasonString: 'js bye', sessionExpiryInterval: 0 } } : {};
  client.end(false, endOpts, () => {
    clearTimeout(timer);
    console.log(JSON.stringify(seen));
  });
});
