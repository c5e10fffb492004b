// MQTT.js over ws:// and wss:// (protocol 4 and 5): `node ws_mqttjs.js WS_PORT WSS_PORT CA_FILE`.
const fs = require('fs');
const mqtt = require('mqtt');
const [wsPort, wssPort, caFile] = process.argv.slice(2);
let failed = 0;
function report(name, ok, detail) {
  console.log((ok ? 'ok - ' : 'not ok - ') + name);
  if (!ok) { failed++; console.log('# ' + detail); }
}
function roundTrip(url, options, topic) {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const timer = setTimeout(() => { c.end(true); resolve('timeout'); }, 8000);
    c.on('error', (e) => { clearTimeout(timer); c.end(true); resolve('error: ' + e.message); });
    c.on('connect', () => {
      c.subscribe(topic, { qos: 1 }, () => c.publish(topic, 'js-' + topic, { qos: 1 }));
    });
    c.on('message', (t, m) => { clearTimeout(timer); c.end(); resolve(m.toString()); });
  });
}
(async () => {
  const ws = await roundTrip(`ws://127.0.0.1:${wsPort}/mqtt`, { protocolVersion: 5 }, 'js/ws');
  report('MQTT.js v5 over ws://: subscribe, publish, receive', ws === 'js-js/ws', ws);
  const wss = await roundTrip(`wss://localhost:${wssPort}/mqtt`, { protocolVersion: 4, ca: fs.readFileSync(caFile) },
    'js/wss');
  report('MQTT.js v3.1.1 over wss://: subscribe, publish, receive', wss === 'js-js/wss', wss);
  process.exit(failed ? 1 : 0);
})();
