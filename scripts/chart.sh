#!/usr/bin/env bash
# The Helm chart's checks that need no cluster (CI runs them; the chart's install is proven on the test cluster by
# server/test/kubernetes/chart.test.ts):
#
#   scripts/chart.sh check   values.schema.json and the chart's README are what their generator writes; `helm lint
#                            --strict` and `helm template` of the default values and of each charts/ganymede/examples/
#                            file; every rendered manifest validated by `kubeconform -strict` against the schemas of
#                            the test cluster's Kubernetes minor version
#   scripts/chart.sh tools   builds what is missing of helm and kubeconform (Go module proxy) and fetches the
#                            Kubernetes JSON schemas (PyPI's kubernetes-validate), into a cache keyed by version
#   scripts/chart.sh env     prints HELM=… KUBECONFORM=… SCHEMAS=…
#
# Cache: ${GANYMEDE_TOOLS_CACHE:-~/.cache/ganymede/tools}/<tool>-<version>/ (a cold build of helm takes ~4 min).
set -euo pipefail
cd "$(dirname "$0")/.."
helm_version=v4.3.2
kubeconform_version=v0.8.0
# The schemas of the test cluster's minor version (scripts/test-cluster.sh: v1.37.2), as kubernetes-validate ships
# them: "-local-strict" ones refuse keys Kubernetes does not know.
schemas_version=1.37.0
tools=${GANYMEDE_TOOLS_CACHE:-$HOME/.cache/ganymede/tools}
helm=$tools/helm-$helm_version/helm
kubeconform=$tools/kubeconform-$kubeconform_version/kubeconform
schemas=$tools/kubernetes-schemas-$schemas_version
chart=charts/ganymede
export PATH=/usr/local/go/bin:$PATH GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { printf '\033[1m[chart %s]\033[0m %s\n' "$(date +%T)" "$*" >&2; }
fail() { printf '\033[1;31m[chart] %s\033[0m\n' "$*" >&2; exit 1; }

# go install <module>@<version> into $2, built in the background of everything else on the machine.
go_tool() {
  local module=$1 dir=$2
  [[ -x $dir/$(basename "${module%@*}") ]] && return 0
  log "building $module (once; cached in $dir)"
  mkdir -p "$dir"
  GOBIN=$dir nice -n 19 go install -trimpath "$module" >"$dir.log" 2>&1 || fail "go install $module failed: $dir.log"
}

schemas() {
  [[ -f $schemas/.complete ]] && return 0
  log "fetching Kubernetes $schemas_version JSON schemas (PyPI kubernetes-validate==$schemas_version)"
  local scratch
  scratch=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$scratch" "kubernetes-validate==$schemas_version" ||
    fail "pip could not download kubernetes-validate==$schemas_version"
  rm -rf "$schemas" && mkdir -p "$schemas"
  # kubeconform resolves $ref against the file's folder: the package's absolute "/api/_definitions.json" references
  # become relative and the "$id"s (kubernetes.io URLs, which would be fetched) go.
  python3 - "$scratch"/*.whl "$schemas" "$schemas_version" <<'EOF'
import json, sys, zipfile
wheel, out, version = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"

def local(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        if isinstance(node.get("$ref"), str):
            node["$ref"] = node["$ref"].replace("/api/_definitions.json#", "_definitions.json#")
        for value in node.values():
            local(value)
    elif isinstance(node, list):
        for value in node:
            local(value)
    return node

with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".json")]
    for name in names:
        with open(f"{out}/{name[len(prefix):]}", "w") as f:
            json.dump(local(json.loads(archive.read(name))), f)
print(f"{len(names)} schemas", file=sys.stderr)
EOF
  rm -rf "$scratch"
  touch "$schemas/.complete"
}

tools() {
  command -v go >/dev/null || fail "building helm and kubeconform needs Go (1.26 or later) on PATH or in /usr/local/go"
  go_tool "helm.sh/helm/v4/cmd/helm@$helm_version" "$(dirname "$helm")"
  go_tool "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version" "$(dirname "$kubeconform")"
  schemas
}

check() {
  tools
  log "values.schema.json and README current"
  (cd server && pnpm exec tsx scripts/chart-schema.ts --check)
  local values rendered
  rendered=$(mktemp -d)
  trap 'rm -rf "$rendered"' RETURN
  for values in "" "$chart"/examples/*.yaml; do
    local name=${values:+$(basename "$values" .yaml)}
    name=${name:-defaults}
    log "$name: helm lint --strict, helm template, kubeconform -strict"
    "$helm" lint --strict --quiet --kube-version "$schemas_version" "$chart" ${values:+-f "$values"} >"$rendered/$name.lint" 2>&1 ||
      { cat "$rendered/$name.lint" >&2; fail "helm lint: $name"; }
    "$helm" template hub "$chart" --namespace notebooks --kube-version "$schemas_version" ${values:+-f "$values"} >"$rendered/$name.yaml" ||
      fail "helm template: $name"
    "$kubeconform" -strict -summary -kubernetes-version "$schemas_version" \
      -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$rendered/$name.yaml" ||
      fail "kubeconform: $name ($rendered/$name.yaml)"
  done
}

case ${1:-} in
  check) check ;;
  tools) tools ;;
  env) tools && echo "HELM=$helm KUBECONFORM=$kubeconform SCHEMAS=$schemas" ;;
  *) fail "usage: scripts/chart.sh check|tools|env" ;;
esac
