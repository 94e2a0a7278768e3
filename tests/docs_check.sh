#!/usr/bin/env bash
# The docs tell the truth where a machine can tell: every ```json example in README.md
# and docs/ is JSON; every `veil ...` command README.md's table lists answers --help;
# no page calls "planned" what the tree has, or cites a design document users lack.
# usage: docs_check.sh SOURCE_DIR VEIL
set -u
src=$1 veil=$2
fails=0 passes=0
check() { if [[ $2 == "$3" ]]; then passes=$((passes + 1)); else echo "FAIL: $1 (got $3, wanted $2)"; fails=$((fails + 1)); fi; }

python3 - "$src" <<'PY'
import glob, json, re, sys
src = sys.argv[1]
bad = 0
for f in sorted(glob.glob(src + "/docs/*.md")) + [src + "/README.md"]:
    text = open(f).read()
    for m in re.finditer(r"```json\n(.*?)```", text, re.S):
        try:
            json.loads(m.group(1))
        except ValueError as e:
            bad += 1
            print("%s:%d: not JSON: %s" % (f, text[:m.start()].count("\n") + 1, e))
sys.exit(1 if bad else 0)
PY
check "every json example in the docs parses" 0 $?

# Commands in README.md's table: `veil <cmd> [<sub>] ...`.
while read -r cmd sub; do
  args=("$cmd")
  [[ -n $sub && $sub != -* && $sub =~ ^[a-z]+$ ]] && args+=("$sub")
  "$veil" "${args[@]}" --help >/dev/null 2>&1
  check "veil ${args[*]} --help (README)" 0 $?
done < <(grep -o '^| `veil [a-z-]*\( [a-z-]*\)\?' "$src/README.md" | sed 's/^| `veil //' | sort -u)

grep -rn -i '\bplanned\b' "$src/docs" "$src/README.md" >/dev/null
check "no doc calls anything 'planned'" 1 $?
grep -rn 'DESIGN\.md\|\.\./shared' "$src/docs" "$src/README.md" >/dev/null
check "no doc cites a design document users do not have" 1 $?
echo "$passes passed, $fails failed"
[[ $fails == 0 ]]
