#!/bin/bash
# The status page in headless Chromium (Debian's chromium), with connected clients.
#
#   c1: vpn-client alice --+                        srv: vpn-server --- control socket
#   c2: vpn-client bob   --+-- UDP 51820 -->             |                  |
#                                                        |             usage_proxy.py ("usage
#                                        vpn-metrics :9586 (the server)     json" as specified,
#                                        vpn-metrics :9587 (the proxy) <----+ the rest passed on)
#                                             ^
#                                        chromium --headless --dump-dom / --screenshot
#
# - the page lists alice and bob as online, with the server's line, as the browser renders it
#   after its scripts ran;
# - against this server's own usage answer: either its users' cards or "Usage not available"
#   (a server without the usage database), never a broken page;
# - against usage of the specified shape (usage_proxy.py): a chart per user (a canvas drawn by
#   Chart.js), quota bars with their figures, the over_quota badge; a screenshot is taken
#   (SCREENSHOT=FILE keeps it, as docs/status-page.png was made).
source "$(dirname "$0")/lib.sh"

lab_up 2
make_server_conf metrics.listen=127.0.0.1:9586 metrics.control_socket_group=vpnse-metrics
start_server -t 2 || { fail "server starts"; finish; }
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
start_client 1 alice || fail "alice connects"
start_client 2 bob || fail "bob connects"
start_metrics || { fail "vpn-metrics starts"; finish; }

# chrome URL ARGS...: headless Chromium inside the server namespace (root needs
# --no-sandbox); virtual time lets the page's fetches and timers run before the dump.
chrome() {
    local url=$1; shift
    srv timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$WORK/chrome" --virtual-time-budget=6000 "$@" "$url" \
        2>>"$WORK/chrome.err"
}
count() { grep -o -- "$1" "$2" | wc -l; }

chrome http://127.0.0.1:9586/ --dump-dom >"$WORK/page.html"
check "the page lists alice online" grep -q '<td class="user">alice</td>' "$WORK/page.html"
check "the page lists bob online" grep -q '<td class="user">bob</td>' "$WORK/page.html"
check "the page counts two online" grep -q 'id="online-count"[^>]*>(2)<' "$WORK/page.html"
check "the server line names its interface and sessions" \
    grep -q 'id="server" class="">vpn-server .* tun0 10.8.0.1 .* 2 sessions' "$WORK/page.html"
if grep -q 'Usage not available' "$WORK/page.html"; then
    check "without the server's usage, the page says so: usage not available" \
        grep -q 'Usage not available (usage not available: this vpn-server does not answer it)' \
        "$WORK/page.html"
else
    check "with the server's usage, a card for alice" grep -q '<h3>alice<span' "$WORK/page.html"
fi

python3 "$ROOT/tests/integration/usage_proxy.py" "$WORK/proxy.sock" "$CONTROL_SOCKET" \
    >"$WORK/proxy.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/proxy.log" listening 5 || fail "usage proxy starts"
cp "$WORK/server.conf" "$WORK/proxy.conf"
python3 "$ROOT/tools/ini-set.py" "$WORK/proxy.conf" "security.control_socket=$WORK/proxy.sock" \
    metrics.listen=127.0.0.1:9587
METRICS_URL=http://127.0.0.1:9587
start_metrics -c "$WORK/proxy.conf" || fail "vpn-metrics on the proxy starts"
# Traffic while the page is drawn, so that the live rates show.
cli 1 ping -f -s 1200 -w 15 -q 192.168.100.10 >/dev/null 2>&1 &
PIDS+=("$!")
sleep 2
chrome http://127.0.0.1:9587/ --dump-dom >"$WORK/usage.html"
check "one usage card with a chart per user (3 canvases drawn by Chart.js)" \
    test "$(count '<canvas' "$WORK/usage.html")" = 3
check "alice's quota bar: 36.0 GB of 50.0 GB this month, 72 %" \
    grep -q 'Quota: 36.0 GB of 50.0 GB this month (72 %' "$WORK/usage.html"
check "bob is over quota: badge and a full bar" bash -c "
    grep -q 'badge over_quota\">over quota<' $WORK/usage.html &&
    grep -q 'class=\"bar full\"' $WORK/usage.html"
check "guest1 has no quota" grep -q 'No quota' "$WORK/usage.html"
check "alice's live upload rate is shown while she pings" \
    grep -Eq '<td class="num">[1-9][0-9.]* (k|M)bit/s</td>' "$WORK/usage.html"
chrome http://127.0.0.1:9587/ --window-size=1200,760 --screenshot="$WORK/status-page.png" >/dev/null
check "a screenshot was taken (PNG, over 20 kB)" bash -c "
    test \"\$(head -c 8 $WORK/status-page.png | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a &&
    test \$(stat -c %s $WORK/status-page.png) -gt 20000"
[ -n "${SCREENSHOT:-}" ] && cp "$WORK/status-page.png" "$SCREENSHOT"
finish
