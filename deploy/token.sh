#!/usr/bin/env bash
# Print an access token from the local Keycloak, for trying the APIs with curl:
#   deploy/token.sh eve          a demo person's token (password demo-password)
#   deploy/token.sh academy-lms  the LMS client's token (client credentials)
set -euo pipefail
who="${1:?usage: deploy/token.sh PERSON|academy-lms}"
url="http://127.0.0.1:${KEYCLOAK_PORT:-8080}/realms/skillstack/protocol/openid-connect/token"
if [ "$who" = academy-lms ]; then
  form=(-d grant_type=client_credentials -d client_id=academy-lms -d client_secret=lms-local-secret)
else
  form=(-d grant_type=password -d client_id=skillstack-dev -d client_secret=dev-local-secret -d "username=$who" -d "password=${PASSWORD:-demo-password}")
fi
curl -sf "${form[@]}" "$url" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
