# shellcheck shell=sh
# Several smswake-servers in one test (multi_server_pg.sh, chain_scaleout_pg.sh): server NAME has
# its configuration in $T/NAME.conf (with a "listen = 127.0.0.1:..." line) and its data directory
# $T/NAME. Needs BUILD, T, PIDS and wait_for (lib_tap.sh).
#   server_start NAME          starts it on the port it had (any port the first time); its pid
#                              in PID_NAME, and in PIDS
#   server_ready NAME [WAIT]   waits up to WAIT seconds (20) for its ports file, and half that for
#                              /healthz; sets PORT_NAME and URL_NAME
server_start()
{
	port=$(eval echo "\${PORT_$1:-0}")
	sed -i "s/^listen = 127.0.0.1:.*/listen = 127.0.0.1:$port/" "$T/$1.conf"
	rm -f "$T/$1/ports"
	"$BUILD/smswake-server" -c "$T/$1.conf" 2>>"$T/server-$1.log" &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
}

server_ready()
{
	ready_wait=${2:-20}
	wait_for "$ready_wait" test -s "$T/$1/ports" || return 1
	port=$(awk '{print $2; exit}' "$T/$1/ports")
	eval "PORT_$1=$port"
	eval "URL_$1=http://127.0.0.1:$port"
	wait_for $((ready_wait / 2)) curl -fs "http://127.0.0.1:$port/healthz"
}
