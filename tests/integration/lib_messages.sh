# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the tests of error messages (after lib_tap.sh): docs/operations.md's table of
# messages lists every message a test provoked.

# messages_listed FILE: one TAP line per distinct message in FILE (program output: log lines with
# their time stamp and program, or "program: message" lines; usage text is left out). The table's
# first column holds each message in backquotes with capitals for what varies (FILE, PATH,
# REASON, HINT, ...); a message is listed when a row matches it from its start.
messages_listed()
{
	ml_table=$(sed -n 's/^| `\([^`]*\)`.*/\1/p' docs/operations.md)
	check "docs/operations.md has a table of messages" test -n "$ml_table"
	grep -v '^usage\|^  \|^#\|^ok \|^not ok ' "$1" |
		sed 's/^[0-9T:.Z-]* [a-z-]*\[[a-z]*\] //; s/^smswake[a-z-]*: //' | sort -u |
		while IFS= read -r ml_line; do
			[ -n "$ml_line" ] || continue
			ml_listed=0
			ml_rows=$(printf '%s\n' "$ml_table" | sed 's/[][\.*^$/]/\\&/g; s/[A-Z][A-Z_]*/.*/g')
			while IFS= read -r ml_pattern; do
				if printf '%s\n' "$ml_line" | grep -q -- "^$ml_pattern"; then
					ml_listed=1
					break
				fi
			done <<ML
$ml_rows
ML
			if [ "$ml_listed" -eq 1 ]; then
				echo "ok - docs/operations.md lists: $ml_line"
			else
				echo "not ok - docs/operations.md lists: $ml_line"
			fi
		done
}
