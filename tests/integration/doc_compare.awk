# SPDX-License-Identifier: GPL-2.0-or-later
# Does what an example printed have the shape its documentation shows? For doc_examples.sh:
#   awk -f doc_compare.awk EXPECTED ACTUAL
# exits 0 if so, else prints why and exits 1.
# - An expected output that starts with "HTTP/" is an HTTP response as `curl -i` prints it: the
#   status line must be the same; every header shown must be there, with the same value unless
#   the value shown contains "..."; every JSON key shown in the body ("name":) must be in the
#   body; a body shown empty must be empty; a body that is not JSON is compared as text.
# - Any other expected output is text, compared line by line after normalising what differs
#   between runs (times, tokens) and runs of blanks; a line "..." stands for any number of lines.
#   Header values are compared with their numbers normalised too (ids, lengths).
# norm: what differs from run to run in text goes (tokens, times) and blanks are collapsed.
function norm(s)
{
	sub(/\r$/, "", s)
	gsub(/sw[pdg]_[A-Za-z0-9_-]+/, "sw_TOKEN", s)
	gsub(/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z/, "TIME", s)
	gsub(/[ \t]+/, " ", s)
	sub(/^ /, "", s)
	sub(/ $/, "", s)
	return s
}
# norm_value: a header value, whose numbers (ids, lengths, seconds) may differ too.
function norm_value(s)
{
	s = norm(s)
	gsub(/[0-9]+/, "0", s)
	return s
}
function trim(s)
{
	sub(/^[ \t\r\n]+/, "", s)
	sub(/[ \t\r\n]+$/, "", s)
	return s
}
# match_lines(EI, AI): do expected lines EI.. match actual lines AI.. ("..." matches any run)?
function match_lines(ei, ai,    k)
{
	if (ei > ne)
		return ai > na
	if (el[ei] == "...") {
		for (k = ai; k <= na + 1; k++)
			if (match_lines(ei + 1, k))
				return 1
		return 0
	}
	if (ai > na || norm(el[ei]) != norm(al[ai]))
		return 0
	return match_lines(ei + 1, ai + 1)
}
function text(from_e, from_a,    i)
{
	ne = 0
	na = 0
	for (i = from_e; i <= nexp; i++)
		el[++ne] = e[i]
	for (i = from_a; i <= nact; i++)
		al[++na] = a[i]
	while (ne > 0 && trim(el[ne]) == "")
		ne--
	while (na > 0 && trim(al[na]) == "")
		na--
	if (match_lines(1, 1))
		return 0
	print "output differs; shown:"
	for (i = 1; i <= ne; i++)
		print "  | " el[i]
	print "printed:"
	for (i = 1; i <= na && i <= 40; i++)
		print "  | " al[i]
	return 1
}
function http(    i, j, c, name, val, want, have, eb, ab, k, bad, nkeys)
{
	if (a[1] != e[1]) {
		print "status: shown \"" e[1] "\", printed \"" a[1] "\""
		return 1
	}
	for (i = 2; i <= nexp && e[i] != ""; i++) {
		c = index(e[i], ":")
		want[tolower(substr(e[i], 1, c - 1))] = trim(substr(e[i], c + 1))
	}
	for (j = 2; j <= nact && a[j] != ""; j++) {
		c = index(a[j], ":")
		have[tolower(substr(a[j], 1, c - 1))] = trim(substr(a[j], c + 1))
	}
	for (name in want) {
		if (!(name in have)) {
			print "header " name " is missing"
			bad = 1
		} else if (want[name] !~ /\.\.\./ && norm_value(want[name]) != norm_value(have[name])) {
			print "header " name ": shown \"" want[name] "\", printed \"" have[name] "\""
			bad = 1
		}
	}
	eb = ""
	for (k = i + 1; k <= nexp; k++)
		eb = eb e[k] "\n"
	ab = ""
	for (k = j + 1; k <= nact; k++)
		ab = ab a[k] "\n"
	if (trim(eb) == "") {
		if (trim(ab) != "") {
			print "the body should be empty; printed: " substr(ab, 1, 200)
			bad = 1
		}
		return bad
	}
	if (trim(eb) !~ /^[\[{]/)
		return text(i + 1, j + 1) || bad
	nkeys = 0
	while (match(eb, /"[A-Za-z_][A-Za-z0-9_]*"[ \t]*:/)) {
		k = substr(eb, RSTART, RLENGTH)
		eb = substr(eb, RSTART + RLENGTH)
		sub(/[ \t]*:$/, "", k)
		nkeys++
		if (index(ab, k ":") == 0) {
			print "the body has no " k "; printed: " substr(ab, 1, 300)
			bad = 1
		}
	}
	return bad
}
FNR == 1 {
	file++
}
file == 1 {
	sub(/\r$/, "")
	e[++nexp] = $0
	next
}
{
	sub(/\r$/, "")
	a[++nact] = $0
}
END {
	if (e[1] ~ /^HTTP\//)
		exit http()
	exit text(1, 1)
}
