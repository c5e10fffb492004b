#!/usr/bin/env bash
# docs/configuration.md names every configuration key and flag the binaries accept, so that a new
# option cannot go undocumented: the key lists the loaders check against (`keys[] = {...}` in
# dataplane/config.c and controlplane/cp_config.c) and the flags the argument parsers compare
# (`strcmp(..., "--flag")` in dataplane/main.c, controlplane/cp_config.c, controlplane/main.c).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

check_documented() { # NAME SOURCES...: every key or flag of the sources appears in `backquotes`
  local name=$1 out
  shift
  out=$("$EG_PYTHON" - docs/configuration.md "$@" <<'EOF'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
names = set()
for path in sys.argv[2:]:
    src = open(path, encoding="utf-8").read()
    for block in re.findall(r"keys\[\]\s*=\s*\{(.*?)\}", src, re.S):
        names.update(re.findall(r'"([A-Za-z_]+)"', block))
    names.update(re.findall(r'strcmp\(\w+(?:\[\w+\])?, "(--?[a-z-]+)"\)', src))
names.discard("--help")
missing = sorted(n for n in names if not re.search(r"`[^`]*(?<![\w-])" + re.escape(n) + r"(?![\w-])[^`]*`", doc))
print(f"{len(names)} names; missing: {', '.join(missing)}" if missing else f"{len(names)} names")
sys.exit(1 if missing or not names else 0)
EOF
)
  if [ $? -eq 0 ]; then ok "$name ($out)"; else not_ok "$name" "$out"; fi
}

check_documented "docs/configuration.md names every egbroker configuration key and flag" \
  dataplane/config.c dataplane/main.c
check_documented "docs/configuration.md names every egcontrol configuration key and flag" \
  controlplane/cp_config.c controlplane/main.c
e2e_finish
