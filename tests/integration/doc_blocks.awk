# SPDX-License-Identifier: GPL-2.0-or-later
# Splits the runnable examples out of a Markdown file, for doc_examples.sh. Usage:
#   awk -v dir=DIR -f doc_blocks.awk FILE.md
# A fenced block whose info string is "sh doctest" is runnable: its text goes to DIR/N.sh and the
# line it starts on to DIR/N.line (N counts from 1). A fenced block whose info string ends in
# " output" ("http output", "text output") and that follows a runnable block with only blank
# lines between is what that block prints: DIR/N.expect. Other fenced blocks are left alone, as
# are fences indented inside list items.
BEGIN {
	n = 0
	state = "text"
	adjacent = 0
}
state == "text" {
	if ($0 ~ /^```sh doctest[ \t]*$/) {
		n++
		state = "code"
		print NR > (dir "/" n ".line")
		printf "" > (dir "/" n ".sh")
		next
	}
	if ($0 ~ /^```[A-Za-z]* output[ \t]*$/) {
		if (!adjacent) {
			print FILENAME ":" NR ": an output block that does not follow a runnable block" > "/dev/stderr"
			bad = 1
		}
		state = "expect"
		printf "" > (dir "/" n ".expect")
		next
	}
	if ($0 ~ /^```/) {
		state = "other"
		adjacent = 0
		next
	}
	if ($0 !~ /^[ \t]*$/)
		adjacent = 0
	next
}
state == "code" {
	if ($0 ~ /^```[ \t]*$/) {
		state = "text"
		adjacent = 1
		next
	}
	print > (dir "/" n ".sh")
	next
}
state == "expect" {
	if ($0 ~ /^```[ \t]*$/) {
		state = "text"
		adjacent = 0
		next
	}
	print > (dir "/" n ".expect")
	next
}
state == "other" {
	if ($0 ~ /^```[ \t]*$/)
		state = "text"
	next
}
END {
	if (state != "text") {
		print FILENAME ": a fenced block is not closed" > "/dev/stderr"
		bad = 1
	}
	exit bad
}
