#!/usr/bin/env bash
# End-to-end (SPEC section 6): the quotas of a namespace that sets throughputUnits. egbroker
# serves ns1 (sku capacity 1: quotas on) and ns2 (no throughputUnits: unlimited), with small
# configured limits: 20 PUBLISH/s and 100,000 B/s per session, a disconnect after 2 s of
# refusals, 4 sessions and 3 retained messages per throughput unit. egcontrol pushes both
# namespaces; tests/e2e/ops/quota_cases.py drives paho (v5 and v3.1.1) and mosquitto_pub and
# checks the reason codes, what subscribers receive, and the metrics' deltas.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init

# The broker of this test: ns1 and ns2 as enf_start_ns_broker serves them, without ns3.
quota_start_broker() {
  local limits='"publish_rate_per_session": 20, "publish_bytes_per_session": 100000, "publish_rate_sustained": 2,
    "sessions_per_throughput_unit": 4, "retained_per_throughput_unit": 3'
  ENF_SNI_KEYS='' ENF_BROKER_KEYS="\"limits\": {$limits}," enf_start_ns_broker "$1"
}

enf_start broker control quota_start_broker
enf_export

if NS=ns1 enf_open_ns ns1 && NS=ns2 enf_open_ns ns2 &&
  METHOD=PATCH put "ns1 throughputUnits 1" /namespaces/ns1 '{"sku": {"name": "Standard", "capacity": 1}}' &&
  NS=ns1 wait_insync 10 && NS=ns2 wait_insync 10; then
  ok "REST: ns1 with throughputUnits 1 and ns2 without, both applied by the broker"
else
  not_ok "REST: ns1 with throughputUnits 1 and ns2 without, both applied" "${SYNC_ERROR:-}"
fi
run_py quotas tests/e2e/ops/quota_cases.py

# Each refusal is logged; the publish ones at most once a second per connection.
n=$(grep -c 'publish refused conn=' "$E2E_TMP/broker.out")
if [ "$n" -ge 1 ] && [ "$n" -le 12 ]; then ok "publish refusals logged at most once a second per connection ($n lines)"
else not_ok "publish refusals logged at most once a second per connection" "$n lines"; fi
for what in 'connect refused .*namespace=ns1 .*maximum number of sessions' 'retained message refused namespace=ns1'; do
  if grep -q "$what" "$E2E_TMP/broker.out"; then ok "logged: $what"; else not_ok "logged: $what" "$(grep quota "$E2E_TMP/broker.out" | tail -5)"; fi
done

stop_broker_checked control "egcontrol"
stop_broker_checked broker "egbroker"
e2e_finish
