# shellcheck shell=sh
# What the HTTP benchmarks share (bench-http.sh, bench-longpoll.sh, bench-pg.sh, profile-http.sh).
# http_fixture BASE KEY DIR: registers a device to submit to (its id in $dev) and a second one,
# never sent anything, for empty polls (its token in $tok2); writes DIR/post.lua (a durable
# submit) and DIR/poll.lua (the empty poll's token) for wrk.
http_fixture()
{
	reg=$(curl -fs -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		-d '{"msisdn":"+15550100000","poll_interval":900}' "$1/v1/devices")
	dev=$(echo "$reg" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	reg2=$(curl -fs -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		-d '{"msisdn":"+15550100001","poll_interval":900}' "$1/v1/devices")
	tok2=$(echo "$reg2" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	cat >"$3/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "meter reading request 0123456789"
wrk.headers["Authorization"] = "Bearer $2"
wrk.headers["Content-Type"] = "text/plain"
LUA
	cat >"$3/poll.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $tok2"
LUA
}

die() { echo "${0##*/}: $*" >&2; exit 1; }

# Figures from a wrk report (FILE).
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
reqs() { sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$1"; }
non2xx() { sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"; }
# "Socket errors: connect 0, read 0, write 0, timeout 0" summed; wrk omits the line when none.
sockerr() { sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$1" | awk '{s=$1+$2+$3+$4} END{print s+0}'; }

# wrk_checked NAME OUTFILE WRK ARGS...: runs wrk and refuses a run with a non-2xx answer or a
# socket error.
wrk_checked() {
	name=$1 res=$2
	shift 2
	wrk "$@" >"$res"
	bad=$(non2xx "$res")
	[ -z "$bad" ] || { cat "$res" >&2; die "$name: $bad answers were not 2xx"; }
	se=$(sockerr "$res")
	[ "$se" -eq 0 ] || { cat "$res" >&2; die "$name: $se socket errors"; }
	[ -n "$(rps "$res")" ] || { cat "$res" >&2; die "$name: no figure from wrk"; }
}
