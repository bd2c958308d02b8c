#!/usr/bin/env bash
# A three-agency Baliza federation on one machine, with the commands an
# operator uses in production (docs/operations.md, "A federation on one machine").
#
#   deploy/examples/three-agencies.sh up      # create the nodes, found the federation, start them
#   deploy/examples/three-agencies.sh check   # publish a seizure from Cartagena; wait until both partners have it
#   deploy/examples/three-agencies.sh down    # stop the nodes (the folder stays; rm -rf it to start over)
#
# Settings (environment): BALIZA_EXAMPLE_DIR (default ./baliza-example),
# BALIZA_EXAMPLE_PORT (first port, default 8471; the nodes use it and the next two),
# BALIZA (the baliza command, default: baliza on the PATH).
# The passphrase is fixed and printed here on purpose: this is an example.
set -euo pipefail

DIR=${BALIZA_EXAMPLE_DIR:-./baliza-example}
PORT=${BALIZA_EXAMPLE_PORT:-8471}
BALIZA=${BALIZA:-baliza}
AGENCIES=(co.polfa.ctg es.aduanas.alg ec.senae.gye)
NAMES=("POLFA Cartagena" "Aduanas Algeciras" "SENAE Guayaquil")
export BALIZA_PASSPHRASE="example passphrase, not for production"
umask 077

say() { printf '== %s\n' "$*"; }

port_of() {  # port_of INDEX
    echo $((PORT + $1))
}

up() {
    if [ -e "$DIR" ]; then
        echo "$DIR exists: run '$0 down' and remove it first" >&2
        exit 1
    fi
    mkdir -p "$DIR/admins"
    say "three nodes (baliza init)"
    for i in 0 1 2; do
        "$BALIZA" init --data-dir "$DIR/${AGENCIES[$i]}" --agency "${AGENCIES[$i]}" \
            --name "${NAMES[$i]}" --port "$(port_of "$i")" > /dev/null
    done
    say "three administrator keys, two must sign (baliza admin keys generate)"
    admins=()
    for admin in co.admin es.admin ec.admin; do
        "$BALIZA" admin keys generate --agency "$admin" --out "$DIR/admins/$admin.key" > /dev/null
        admins+=(--admin "$DIR/admins/$admin.pub.json")
    done
    say "directory version 1 (baliza admin directory init, sign)"
    members=()
    for agency in "${AGENCIES[@]}"; do members+=(--member "$DIR/$agency/public.json"); done
    # The fingerprint does not change as administrators sign; operators pin it.
    fingerprint=$("$BALIZA" admin directory init --federation example "${members[@]}" \
        "${admins[@]}" --threshold 2 --valid-days 30 --out "$DIR/v1.dir" |
        sed -n 's/^fingerprint: //p')
    for admin in co.admin es.admin; do
        "$BALIZA" admin directory sign "$DIR/v1.dir" --key "$DIR/admins/$admin.key" > /dev/null
    done
    say "directory fingerprint: $fingerprint"
    for agency in "${AGENCIES[@]}"; do
        "$BALIZA" admin directory apply --offline --data-dir "$DIR/$agency" \
            --fingerprint "$fingerprint" "$DIR/v1.dir" > /dev/null
        "$BALIZA" tokens create --data-dir "$DIR/$agency" --name "example officer" \
            --role publisher | tail -n 1 > "$DIR/$agency.token"  # the token is the last line
    done
    start
}

start() {
    say "starting the nodes (baliza serve)"
    for i in 0 1 2; do
        agency=${AGENCIES[$i]}
        "$BALIZA" serve --data-dir "$DIR/$agency" > "$DIR/$agency.log" 2>&1 &
        echo $! > "$DIR/$agency.pid"
    done
    for i in 0 1 2; do
        for _ in $(seq 1 300); do  # up to 60 s each
            if (exec 3<> "/dev/tcp/127.0.0.1/$(port_of "$i")") 2> /dev/null; then
                continue 2
            fi
            if ! kill -0 "$(cat "$DIR/${AGENCIES[$i]}.pid")" 2> /dev/null; then
                echo "${AGENCIES[$i]} stopped:" >&2; cat "$DIR/${AGENCIES[$i]}.log" >&2; exit 1
            fi
            sleep 0.2
        done
        echo "${AGENCIES[$i]} did not answer on port $(port_of "$i")" >&2
        exit 1
    done
    for i in 0 1 2; do
        echo "   ${AGENCIES[$i]}  http://127.0.0.1:$(port_of "$i")  token in $DIR/${AGENCIES[$i]}.token"
    done
}

check() {
    local sender=${AGENCIES[0]} container=MSCU1234566 agency
    declare -A before
    for agency in "${AGENCIES[1]}" "${AGENCIES[2]}"; do
        before[$agency]=$(received "$agency" "$sender")
    done
    local seized_ms=$(( ($(date +%s) - 3600) * 1000 ))
    say "publishing a seizure from $sender to ${AGENCIES[1]} and ${AGENCIES[2]} (baliza publish)"
    cat > "$DIR/seizure.json" <<JSON
{"v": 1, "kind": "notice.seizure", "programme": "ccp", "unit": {"agency": "$sender"},
 "seized_ms": $seized_ms, "location": {"locode": "COCTG"}, "transport": "sea",
 "commodities": [{"category": "cocaine", "quantity": {"amount": 25000, "unit": "g"}}],
 "conveyance": {"container": "$container"},
 "text": {"lang": "en", "text": "Example seizure: holdalls behind the doors."}}
JSON
    "$BALIZA" publish --data-dir "$DIR/$sender" --token "$(cat "$DIR/$sender.token")" \
        --to "${AGENCIES[1]}" --to "${AGENCIES[2]}" "$DIR/seizure.json"
    for agency in "${AGENCIES[1]}" "${AGENCIES[2]}"; do
        for _ in $(seq 1 150); do  # up to 30 s
            if [ "$(received "$agency" "$sender")" -gt "${before[$agency]}" ]; then
                say "$agency received it"
                continue 2
            fi
            sleep 0.2
        done
        echo "$agency did not receive the seizure; its log:" >&2
        cat "$DIR/$agency.log" >&2
        exit 1
    done
}

received() {  # received AGENCY SENDER: how many notices AGENCY holds from SENDER
    "$BALIZA" feed --data-dir "$DIR/$1" --token "$(cat "$DIR/$1.token")" --sender "$2" \
        --limit 1000 | wc -l
}

down() {
    local pids=() pid
    for agency in "${AGENCIES[@]}"; do
        if [ -f "$DIR/$agency.pid" ]; then
            pid=$(cat "$DIR/$agency.pid")
            kill "$pid" 2> /dev/null && pids+=("$pid")
            rm -f "$DIR/$agency.pid"
        fi
    done
    # Return only once every node has exited (its port free, its database
    # closed), so that `down && up` or `rm -rf` right after is safe.
    for pid in "${pids[@]}"; do
        for _ in $(seq 300); do
            # Gone, or exited and waiting for its parent (a zombie, state Z).
            case "$(ps -o stat= -p "$pid" 2> /dev/null)" in "" | Z*) continue 2 ;; esac
            sleep 0.1
        done
        say "node $pid did not stop within 30 s; killing it"
        kill -9 "$pid" 2> /dev/null || true
    done
    say "stopped; the data stays in $DIR"
}

case "${1:-}" in
    up) up ;;
    start) start ;;
    check) check ;;
    down) down ;;
    *) echo "usage: $0 up|check|down|start" >&2; exit 2 ;;
esac
