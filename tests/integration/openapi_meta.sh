#!/bin/sh
# docs/openapi.yaml against the official OpenAPI 3.1 meta-schema (spec.openapis.org/oas/3.1/schema,
# the JSON file), validated with Python's jsonschema (Debian: python3-jsonschema, python3-yaml).
# The meta-schema is not shipped here (Debian 12 packages only the 3.0 one): point
# OPENAPI_META_SCHEMA at a downloaded copy. Without it this test is reported as skipped, never as
# passed.
. tests/integration/lib_tap.sh
META=${OPENAPI_META_SCHEMA:-}

if [ -z "$META" ] || [ ! -f "$META" ]; then
	echo "SKIP openapi_meta.sh: OPENAPI_META_SCHEMA does not name the OpenAPI 3.1 meta-schema (JSON)"
	exit 0
fi
check "python3 with yaml and jsonschema (Debian: python3-yaml, python3-jsonschema)" \
	python3 -c 'import yaml, jsonschema'
check "docs/openapi.yaml is valid against the OpenAPI 3.1 meta-schema" python3 -c '
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open("docs/openapi.yaml"))
v = jsonschema.Draft202012Validator(schema)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:10]:
    print("#", "/".join(map(str, e.path)), e.message[:200])
sys.exit(1 if errors else 0)' "$META"
finish
