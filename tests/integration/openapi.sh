#!/bin/sh
# docs/openapi.yaml against the server: the route table (fetch-server/routes.c, listed by
# test_routes --list) and the document name the same routes; the document's references resolve;
# and it validates against the official OpenAPI 3.1 meta-schema with Python's jsonschema
# (Debian: python3-jsonschema, python3-yaml). The meta-schema is read from OPENAPI_META_SCHEMA,
# default tests/openapi/oas-3.1.schema.json.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
META=${OPENAPI_META_SCHEMA:-tests/openapi/oas-3.1.schema.json}
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
if [ -f "$META" ]; then
	check "docs/openapi.yaml is valid against the OpenAPI 3.1 meta-schema" python3 -c '
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open("docs/openapi.yaml"))
v = jsonschema.Draft202012Validator(schema)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:10]:
    print("#", "/".join(map(str, e.path)), e.message[:200])
sys.exit(1 if errors else 0)' "$META"
else
	not_ok "docs/openapi.yaml against the OpenAPI 3.1 meta-schema: $META is missing (the official schema, spec.openapis.org/oas/3.1/schema)"
fi
finish
