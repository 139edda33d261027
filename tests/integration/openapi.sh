#!/bin/sh
# docs/openapi.yaml against the server: the route table (fetch-server/routes.c, listed by
# test_routes --list) and the document name the same routes; the document's references resolve
# and its operationIds are unique (Debian: python3-yaml). openapi_meta.sh validates it against the
# OpenAPI 3.1 meta-schema.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-openapi.XXXXXX")
trap 'rm -rf "$T"' EXIT

check "python3 with yaml and jsonschema (Debian: python3-yaml, python3-jsonschema)" \
	python3 -c 'import yaml, jsonschema'
"$BUILD/tests/test_routes" --list | sort >"$T/table"
python3 -c '
import sys, yaml
d = yaml.safe_load(open("docs/openapi.yaml"))
for path, item in d["paths"].items():
    for m in ("get", "post", "patch", "delete", "put", "head", "options", "trace"):
        if m in item:
            print(m.upper(), path)
' | sort >"$T/doc"
check "the route table lists routes" test -s "$T/table"
if cmp -s "$T/table" "$T/doc"; then
	ok "the route table and docs/openapi.yaml list the same routes"
else
	not_ok "the route table and docs/openapi.yaml list the same routes"
	diff "$T/table" "$T/doc" | sed 's/^/# /'
fi
check "every \$ref resolves and every operationId is unique" python3 -c '
import yaml
d = yaml.safe_load(open("docs/openapi.yaml"))
ids = []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "$ref":
                node = d
                for part in v.lstrip("#/").split("/"):
                    node = node[part]
            elif k == "operationId":
                ids.append(v)
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(d)
assert len(ids) == len(set(ids)), ids
'
finish
