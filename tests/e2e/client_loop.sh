#!/bin/sh
# Runs inside the e2e box: requests URL on a new connection each, one after the other,
# until STOPFILE exists (or MAX_SECONDS pass). Prints one line per request:
# "<HTTP status> <curl exit code>"; curl exits 7 when the connection is refused.
# usage: client_loop.sh URL STOPFILE MAX_SECONDS
url=$1
stop_file=$2
end=$(( $(date +%s) + $3 ))
while [ ! -e "$stop_file" ] && [ "$(date +%s)" -lt "$end" ]; do
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$url")
  echo "$status $?"
done
echo "client loop done"
