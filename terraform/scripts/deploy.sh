#!/usr/bin/env bash
# `make deploy`: the steps of docs/deploy.md, in order, stopping at the first that cannot succeed.
#
#   1. terraform init
#   2. first deployment only: APIs and secret containers (-target), so the secrets can be filled
#   3. check every mounted secret has a value (values are added by you, out of band)
#   4. terraform apply: everything else
#   5. build the web UI and publish it to Firebase Hosting with its /config.json
#
# Environment: TERRAFORM (default terraform), AUTO_APPROVE=1 (no prompts), SKIP_WEB=1 (skip 5),
# FIREBASE_TOOLS (default firebase-tools@15.34.2, run through npx).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TF_DIR="$ROOT/terraform"
TF="${TERRAFORM:-terraform}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
FIREBASE_TOOLS="${FIREBASE_TOOLS:-firebase-tools@15.34.2}"
APPROVE=()
[[ "${AUTO_APPROVE:-}" == "1" ]] && APPROVE=(-auto-approve)

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }
tf() { "$TF" -chdir="$TF_DIR" "$@"; }
# Evaluate a Terraform expression against the configuration and print it as JSON.
# (One line: older consoles read an expression per line. The console prints an HCL string.)
tf_json() {
  printf 'jsonencode(%s)\n' "$(tr '\n' ' ' <<<"$1")" | tf console |
    "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read()))'
}

need "$TF" "see https://developer.hashicorp.com/terraform/install"
need gcloud "see https://cloud.google.com/sdk/docs/install"
[[ -x "$PY" ]] || die "no project venv at $PY: run make setup"
[[ -f "$TF_DIR/terraform.tfvars" ]] ||
  die "copy terraform/terraform.tfvars.example to terraform/terraform.tfvars and set project_id"
[[ -f "$ROOT/dist/functions/functions.zip" ]] || die "no function bundle: run make bundle"

say "terraform init"
tf init -input=false

plan="$(tf_json '{
  project = var.project_id
  secrets = [for k, s in local.secrets : {
    id = local.secret_names[k], env = s.env, required = s.required,
    mounted = !contains(var.unset_optional_secrets, k)
  }]
}')"
project="$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["project"])' "$plan")"
secret_rows() {
  "$PY" -c '
import json, sys
for s in json.loads(sys.argv[1])["secrets"]:
    print(s["id"], s["env"], s["required"], s["mounted"], sep="\t")
' "$plan"
}

# A first deployment has no secret containers to put values in yet: create those (and the APIs
# and accounts they need) on their own first.
absent=0
while IFS=$'\t' read -r id _ _ _; do
  gcloud secrets describe "$id" --project "$project" --format='value(name)' \
    </dev/null >/dev/null 2>&1 || absent=1
done < <(secret_rows)
if [[ "$absent" == 1 ]]; then
  say "APIs and secret containers (first pass)"
  tf apply -input=false "${APPROVE[@]}" -target=module.services -target=module.secrets
fi

say "checking secret values"
missing=0
while IFS=$'\t' read -r id env required mounted; do
  if [[ "$mounted" != "True" ]]; then
    echo "  $id ($env): not mounted (listed in unset_optional_secrets)"
    continue
  fi
  version="$(gcloud secrets versions list "$id" --project "$project" \
    --filter='state=ENABLED' --limit=1 --format='value(name)' </dev/null 2>/dev/null || true)"
  if [[ -n "$version" ]]; then
    echo "  $id ($env): ok"
  else
    missing=1
    echo "  $id ($env): NO VALUE"
    echo "      add one:  <command printing the value> | gcloud secrets versions add $id --project $project --data-file=-"
    [[ "$required" == "True" ]] || echo "      or list it in unset_optional_secrets in terraform.tfvars"
  fi
done < <(secret_rows)
[[ "$missing" == 0 ]] || die "fill the secrets above (docs/deploy.md, 'Secrets'), then run make deploy again"

say "terraform apply"
tf apply -input=false "${APPROVE[@]}"

hosting="$(tf output -json hosting)"
if [[ "$hosting" == "null" || "${SKIP_WEB:-}" == "1" ]]; then
  say "web UI: skipped"
else
  need npm "Node.js 20.19 or later builds the web UI"
  say "building the web UI"
  make -C "$ROOT" --no-print-directory web
  stage="$ROOT/dist/hosting"
  rm -rf "$stage" && mkdir -p "$stage"
  cp -R "$ROOT/web/dist" "$stage/public"
  "$PY" - "$hosting" "$stage" "$project" <<'EOF'
import json, pathlib, sys
hosting, stage, project = json.loads(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
# What web/src/config.js reads: the API shares the site's origin through the rewrite below.
config = {"project_id": project, "api_base": "", "firestore_emulator": None,
          "firebase": hosting["web_config"]}
(stage / "public" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
firebase = {"hosting": {
    "site": hosting["site_id"],
    "public": "public",
    "cleanUrls": True,
    "rewrites": [
        {"source": "/api/**", "run": {"serviceId": hosting["api_service"], "region": hosting["region"]}},
        {"source": "**", "destination": "/index.html"},
    ],
    "headers": [
        {"source": "/config.json", "headers": [{"key": "Cache-Control", "value": "no-store"}]},
        {"source": "/index.html", "headers": [{"key": "Cache-Control", "value": "no-cache"}]},
    ],
}}
(stage / "firebase.json").write_text(json.dumps(firebase, indent=2) + "\n")
EOF
  say "publishing to Firebase Hosting"
  (cd "$stage" && npx --yes "$FIREBASE_TOOLS" deploy --only hosting --project "$project" --non-interactive)
fi

say "done"
tf output web_url
tf output api_url
