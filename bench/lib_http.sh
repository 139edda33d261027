# shellcheck shell=sh
# What the HTTP benchmarks share (bench-http.sh, bench-pg.sh, profile-http.sh).
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
