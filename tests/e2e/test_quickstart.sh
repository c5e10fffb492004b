#!/usr/bin/env bash
# The README's quickstart, verbatim, so that the docs cannot rot: the ```sh blocks that follow a
# `<!-- quickstart -->` line in README.md are extracted and run in order, in one shell, against
# scripts/run.sh (started as test_make_run.sh does: the demo's fixed ports, a temporary state
# directory, the sanitizer binaries). Their working directory stands in for the checkout's root:
# `build/bin` there is the sanitizer build, `var` the temporary state. The only change made to a
# command: the background `mosquitto_sub` gets `-C 1 -W 20 -d` (bounded, and its SUBACK awaited
# before the next command). Fails when any command fails or the message does not arrive.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

demo_ports_free "the quickstart (it runs against make run's demo)"

# The commands, as the script the quickstart's reader types.
QS_ROOT=$E2E_TMP/root
mkdir -p "$QS_ROOT/build"
ln -s "$(cd "$EG_BIN" && pwd)" "$QS_ROOT/build/bin"
export QS_SUB_OUT=$E2E_TMP/sub.out
"$EG_PYTHON" - README.md >"$E2E_TMP/quickstart.sh" <<'EOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
blocks, i = [], 0
while i < len(lines):
    if lines[i].strip() == "<!-- quickstart -->":
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or lines[j].strip() != "```sh":
            sys.exit(f"README.md:{i + 1}: <!-- quickstart --> is not followed by a ```sh block")
        end = lines.index("```", j + 1)
        blocks.append((j + 2, lines[j + 1:end]))
        i = end
    i += 1
if not blocks:
    sys.exit("README.md has no <!-- quickstart --> blocks")
print("set -e")
for first_line, block in blocks:
    print(f"echo '== README.md:{first_line}'")
    text = "\n".join(block).replace("\\\n", " ")  # continuation lines make one command
    for cmd in text.split("\n"):
        if re.match(r"\s*mosquitto_sub\b", cmd):
            cmd = cmd.strip()
            if not cmd.endswith("&"):
                sys.exit(f"README.md:{first_line}: the subscriber must run in the background (&)")
            print("set -x")
            print(cmd[:-1].rstrip() + ' -C 1 -W 20 -d >"$QS_SUB_OUT" 2>&1 &')
            print("{ set +x; } 2>/dev/null")
            print("QS_SUB_PID=$!")
            print('for _ in $(seq 100); do grep -q "received SUBACK" "$QS_SUB_OUT" && break; sleep 0.1; done')
        else:
            print("set -x")
            print(cmd)
            print("{ set +x; } 2>/dev/null")
print('echo "== subscriber"; wait "$QS_SUB_PID"')
EOF
if [ $? -eq 0 ]; then ok "README.md: $(grep -c "^echo '== README" "$E2E_TMP/quickstart.sh") quickstart blocks extracted"
else bail "cannot extract the quickstart: $(cat "$E2E_TMP/quickstart.sh")" "README.md: quickstart blocks extracted"; fi

export EG_VAR=$QS_ROOT/var
start_demo "make run's script is up (egcontrol, egbroker, the demo namespace)"
log=$E2E_TMP/demo.out

(cd "$QS_ROOT" && timeout 90 bash "$E2E_TMP/quickstart.sh") >"$E2E_TMP/quickstart.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "every quickstart command succeeds, as written"
else not_ok "every quickstart command succeeds, as written" "exit $rc; the last commands:" "$(tail -25 "$E2E_TMP/quickstart.out")"; fi
if grep -qx "contosotopics/topic1 hello world!" "$QS_SUB_OUT" 2>/dev/null; then
  ok "the subscriber (client1-session1) receives 'hello world!' from the publisher (client1-session2)"
else not_ok "the subscriber (client1-session1) receives 'hello world!' from the publisher (client1-session2)" \
  "subscriber: $(cat "$QS_SUB_OUT" 2>&1)"; fi
if grep -q "connected .*client=client1-session1 namespace=demo auth_name=\"client1-authnID\" .*transport=mqtts" "$log"; then
  ok "the broker logs client1's connection: namespace demo, authentication name client1-authnID, over mqtts"
else not_ok "the broker logs client1's connection: namespace demo, authentication name client1-authnID, over mqtts" \
  "$(grep "client1" "$log" | head -5)"; fi

stop_bg demo
san=$(grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error' "$log" | head -30)
if [ -z "$san" ]; then ok "no sanitizer report from egcontrol or egbroker"
else not_ok "no sanitizer report from egcontrol or egbroker" "$san"; fi
e2e_finish
