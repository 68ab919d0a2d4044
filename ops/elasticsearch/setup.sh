#!/usr/bin/env bash
# The es-setup service of docker-compose.yml (Elastic's own compose `setup` pattern), run as root in the
# Elasticsearch image. Every step is idempotent, so it runs on every `docker compose up`.
#   1. the snapshot volume belongs to the elasticsearch user (uid 1000), so snapshots can be written;
#   2. kibana_system gets KIBANA_PASSWORD;
#   3. the role kabar_writer (the kabar-* indices, templates and ILM, nothing else) and the user kabar
#      with KABAR_ELASTICSEARCH_PASSWORD, which the kabar services use;
#   4. the snapshot repository kabar-backups (docs/operations.md, "Backups").
set -euo pipefail

es="${ES_URL:-http://elasticsearch:9200}"
snapshots="${SNAPSHOT_DIR:-/snapshots}"

for name in ELASTIC_PASSWORD KIBANA_PASSWORD KABAR_ELASTICSEARCH_PASSWORD; do
  value="${!name:-}"
  # The passwords travel in JSON bodies and in KABAR_ELASTICSEARCH_URL: letters and digits keep both safe.
  if [[ ! "$value" =~ ^[A-Za-z0-9]{16,}$ ]]; then
    echo "es-setup: $name must be at least 16 letters and digits (scripts/make_env.py writes such values)" >&2
    exit 1
  fi
done

if [[ -d "$snapshots" ]]; then
  chown 1000:0 "$snapshots"
fi

call() {  # METHOD PATH [JSON]: fails on any HTTP error, printing Elasticsearch's answer
  local method=$1 path=$2 body=${3:-}
  local args=(--silent --show-error --fail-with-body -u "elastic:${ELASTIC_PASSWORD}" -X "$method"
              -H "content-type: application/json" "$es$path")
  if [[ -n "$body" ]]; then args+=(-d "$body"); fi
  curl "${args[@]}" >/dev/null
}

echo "es-setup: waiting for Elasticsearch at $es"
until curl --silent --fail -o /dev/null -u "elastic:${ELASTIC_PASSWORD}" \
    "$es/_cluster/health?wait_for_status=yellow&timeout=5s"; do
  sleep 5
done

call POST /_security/user/kibana_system/_password "{\"password\":\"${KIBANA_PASSWORD}\"}"
call PUT /_security/role/kabar_writer '{
  "cluster": ["monitor", "manage_index_templates", "manage_ilm"],
  "indices": [{"names": ["kabar-*"], "privileges": ["all"]}]
}'
call PUT /_security/user/kabar "{\"password\":\"${KABAR_ELASTICSEARCH_PASSWORD}\",\"roles\":[\"kabar_writer\"],
  \"full_name\":\"kabar services\"}"
call PUT /_snapshot/kabar-backups '{"type": "fs", "settings": {"location": "/usr/share/elasticsearch/snapshots"}}'
echo "es-setup: done (users kibana_system and kabar, snapshot repository kabar-backups)"
