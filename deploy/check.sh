#!/usr/bin/env bash
# Static checks of deploy/: renders every Kustomize overlay with `kubectl kustomize`,
# checks the structure the docs promise (one Deployment, Service, HPA and PDB per
# service and the gateway, probes, security context), then
#   - hadolint on deploy/Dockerfile: no finding of level warning or error;
#   - checkov (kubernetes, dockerfile) on the rendered manifests and the Dockerfile:
#     no failed check (skips only in deploy/.checkov.yaml, each with its reason);
#   - checkov's secrets scan (of the file types it knows) over the files under deploy/
#     that git tracks or would track: nothing found.
# The analysers live in deploy/.venv (git-ignored), at the versions of
# deploy/requirements.txt and deploy/constraints.txt. Needs no cluster and no network
# beyond PyPI (first run only). Called at the end of scripts/test.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
start=$SECONDS

# --- kubectl (kustomize v4+ is needed: `labels`, `patches` with targets)
if ! command -v kubectl >/dev/null; then
    if [[ "$(id -u)" = "0" ]] && command -v apt-get >/dev/null; then
        echo "== deploy: installing kubectl (Debian's kubernetes-client)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
    else
        echo "deploy: kubectl not found (apt-get install kubernetes-client)" >&2
        exit 1
    fi
fi
kustomize_version="$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}//p')"
case "$kustomize_version" in
    [4-9].* | [1-9][0-9].*) ;;
    *)
        echo "deploy: kubectl's kustomize is '${kustomize_version:-absent}'; these manifests need v4 or later" >&2
        exit 1
        ;;
esac

# --- the analysers, in their own venv; reinstalled only when the pins change
venv="$here/.venv"
stamp="$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -c1-16)"
if [[ ! -x "$venv/bin/checkov" || ! -x "$venv/bin/hadolint" || "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]]; then
    echo "== deploy: installing checkov and hadolint in deploy/.venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" -c "$here/constraints.txt"
    echo "$stamp" >"$venv/.stamp"
fi
# checkov offline: no guideline download, no platform mapping, no version check.
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false ENABLE_DEFINITION_KEY=false
export CHECKOV_ENABLE_VERSION_CHECK=false BC_API_KEY=""
unset BC_API_KEY

work="$(mktemp -d "${TMPDIR:-/tmp}/crossbar-deploy-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- render every overlay, from a copy (the dev overlay's secrets are placeholders
# written into the copy; nothing in the work tree changes)
echo "== deploy: kubectl kustomize (kustomize $kustomize_version)"
cp -r "$here/k8s" "$work/k8s"
rm -rf "$work/k8s/overlays/dev/secrets"
mkdir -p "$work/k8s/overlays/dev/secrets"
printf 'placeholder-password' >"$work/k8s/overlays/dev/secrets/postgres-password"
printf 'database_url = "postgres://crossbar:placeholder-password@postgres:5432/crossbar"\n' \
    >"$work/k8s/overlays/dev/secrets/crossbar.toml"
printf 'placeholder: the dev overlay generates an Ed25519 key here\n' \
    >"$work/k8s/overlays/dev/secrets/jwt-signing-key.pem"
mkdir -p "$work/rendered"
kubectl kustomize "$work/k8s/base" >"$work/base.yaml"
overlays=()
for dir in "$work"/k8s/overlays/*/; do
    name="$(basename "$dir")"
    kubectl kustomize "$dir" >"$work/rendered/$name.yaml"
    overlays+=("$name")
    echo "   $name: $(grep -c '^kind:' "$work/rendered/$name.yaml") objects"
done

# Every check below runs; the script fails at the end if any of them failed.
failed=()

# --- structure: what docs/operations.md promises of every overlay
echo "== deploy: structure of the rendered overlays"
"$venv/bin/python" "$here/check_manifests.py" "$work"/rendered/*.yaml || failed+=(structure)

# --- hadolint
echo "== deploy: hadolint deploy/Dockerfile"
"$venv/bin/hadolint" --version
hadolint_json="$("$venv/bin/hadolint" --no-fail -f json "$here/Dockerfile")"
"$venv/bin/python" - "$hadolint_json" <<'EOF'
import json, sys
findings = json.loads(sys.argv[1])
levels = {}
for f in findings:
    levels[f["level"]] = levels.get(f["level"], 0) + 1
    print(f"   {f['level']} {f['code']} line {f['line']}: {f['message']}")
print("   hadolint findings: " + ", ".join(f"{k} {levels.get(k, 0)}" for k in ("error", "warning", "info", "style")))
EOF
# Fails on any warning or error.
"$venv/bin/hadolint" --failure-threshold warning "$here/Dockerfile" >/dev/null || failed+=(hadolint)

# --- checkov: rendered manifests and the Dockerfile
echo "== deploy: checkov $("$venv/bin/checkov" --version) (kubernetes: ${overlays[*]}; dockerfile)"
mkdir -p "$work/scan"
cp "$work"/rendered/*.yaml "$work/scan/"
cp "$here/Dockerfile" "$work/scan/Dockerfile"
set +e
"$venv/bin/checkov" --config-file "$here/.checkov.yaml" -d "$work/scan" \
    --framework kubernetes dockerfile -o json >"$work/checkov.json" 2>"$work/checkov.err"
checkov_rc=$?
# Secrets: every file under deploy/ that git tracks or would (not the ignored ones).
mkdir -p "$work/tracked"
git ls-files -z --cached --others --exclude-standard deploy .dockerignore | xargs -0 -I{} cp --parents {} "$work/tracked/"
"$venv/bin/checkov" -d "$work/tracked" --framework secrets --skip-download --compact --quiet \
    -o json >"$work/secrets.json" 2>"$work/secrets.err"
secrets_rc=$?
set -e
if [[ ! -s "$work/checkov.json" ]]; then
    echo "deploy: checkov produced no report (exit $checkov_rc):" >&2
    tail -n 20 "$work/checkov.err" >&2
    exit 1
fi
skips="$(sed -n 's/^ *- \(CKV[A-Z0-9_]*\).*/\1/p' "$here/.checkov.yaml" | tr '\n' ' ')"
summary_rc=0
"$venv/bin/python" - "$work/checkov.json" "$work/secrets.json" "$skips" <<'EOF' || summary_rc=$?
import json, sys

def reports(path, label):
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return []
    if not text:
        return []
    data = json.loads(text)
    if isinstance(data, dict) and "check_type" not in data:
        # checkov's bare summary when a framework had nothing to report
        return [{"check_type": label, "summary": data, "results": {}}]
    return data if isinstance(data, list) else [data]

bad = 0
totals = {"passed": 0, "failed": 0, "skipped": 0}
for report in reports(sys.argv[1], "kubernetes/dockerfile") + reports(sys.argv[2], "secrets"):
    s = report["summary"]
    for k in totals:
        totals[k] += s.get(k, 0)
    print(f"   {report['check_type']}: passed {s['passed']}, failed {s['failed']}, "
          f"skipped {s['skipped']}, parsing errors {s['parsing_errors']}, resources {s.get('resource_count', 0)}")
    bad += s["failed"] + s["parsing_errors"]
    for c in report["results"].get("failed_checks", []):
        print(f"   FAILED {c['check_id']} {c['check_name']}: {c.get('resource')} ({c.get('file_path')})")
print(f"   checkov total: {totals['passed']} passed, {totals['failed']} failed, "
      f"{totals['skipped']} skipped (annotations); not run, by deploy/.checkov.yaml: {sys.argv[3].strip() or 'none'}")
sys.exit(1 if bad else 0)
EOF
[[ $summary_rc -eq 0 && $checkov_rc -eq 0 && $secrets_rc -eq 0 ]] || failed+=(checkov)

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "deploy: FAILED: ${failed[*]} ($((SECONDS - start)) s)" >&2
    exit 1
fi
echo "== deploy: checks passed in $((SECONDS - start)) s"
