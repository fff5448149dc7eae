#!/usr/bin/env bash
# Install the deployment validators that tests/unit/test_compose.py and tests/unit/test_k8s.py use,
# from package registries only (the Go module proxy and PyPI; nothing from GitHub, no Docker engine),
# into .local/tools/. A second run finds them there and returns in well under a second.
#
#   bin/compose-config  loads docker-compose.yml the way `docker compose config` does (compose-go:
#                       the Compose Specification schema, interpolation, consistency), prints the result
#   bin/kustomize       renders deploy/k8s
#   bin/kubeconform     validates rendered manifests against the Kubernetes API schemas
#   kubernetes-json-schema/v<version>-standalone-strict/   those schemas, from PyPI's kubernetes-validate
#
# Needs Go (the machine's; GOTOOLCHAIN=local, so no toolchain is downloaded) and Python with pip.
# Prints where the tools are. Versions are pinned below; bump them here only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SKILLSTACK_TOOLS_DIR:-$root/.local/tools}"

KUSTOMIZE_VERSION=v5.8.1      # v5.8.3 needs Go 1.27
KUBECONFORM_VERSION=v0.8.0
COMPOSE_GO_VERSION=v2.16.2    # the library behind `docker compose` v2
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSIONS="1.30.0 1.37.0"   # the oldest Kubernetes deploy/k8s supports, and the newest known

export GOBIN="$tools/bin" GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -modcacherw"
mkdir -p "$tools/bin" "$tools/stamps"
started=$SECONDS

installed() { [ -f "$tools/stamps/$1" ] && [ -x "$tools/bin/${1%@*}" ]; }
step_started=$SECONDS
done_with() {
  touch "$tools/stamps/$1"
  echo "tools.sh: installed $1 in $((SECONDS - step_started)) s" >&2
  step_started=$SECONDS
}
need_go() {
  command -v go >/dev/null || { echo "tools.sh: Go is needed to install $1 (the machine's go, 1.26 or newer: kubeconform v0.8.0 needs it)" >&2; exit 1; }
}

if ! installed "kustomize@$KUSTOMIZE_VERSION"; then
  need_go kustomize
  go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  done_with "kustomize@$KUSTOMIZE_VERSION"
fi

if ! installed "kubeconform@$KUBECONFORM_VERSION"; then
  need_go kubeconform
  go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  done_with "kubeconform@$KUBECONFORM_VERSION"
fi

# compose-go's own cmd/ reads no variables from the environment (its LoadModel drops them), so
# this ten-line main calls LoadProject, the path `docker compose config` takes.
if ! installed "compose-config@$COMPOSE_GO_VERSION"; then
  need_go compose-config
  source_dir="$tools/src/compose-config"
  rm -rf "$source_dir" && mkdir -p "$source_dir"
  cat > "$source_dir/main.go" <<'GO'
// compose-config FILE...: load a Compose project as `docker compose config` does and print it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	options, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv, cli.WithConsistency(true))
	exitOn(err)
	project, err := options.LoadProject(context.Background())
	exitOn(err)
	out, err := project.MarshalYAML()
	exitOn(err)
	os.Stdout.Write(out)
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
  (
    cd "$source_dir"
    go mod init skillstack.local/compose-config >/dev/null 2>&1
    go get "github.com/compose-spec/compose-go/v2/cli@$COMPOSE_GO_VERSION" 2>/dev/null
    go build -o "$tools/bin/compose-config" .
  )
  done_with "compose-config@$COMPOSE_GO_VERSION"
fi

# The schemas kubeconform would fetch from GitHub, taken from the kubernetes-validate wheel instead.
# There each kind's schema points into one shared _definitions.json by an absolute URL, which
# kubeconform cannot follow on disk; each is written here standalone, with the definitions it uses.
schemas="$tools/kubernetes-json-schema"
stamp="kubernetes-json-schema@$KUBERNETES_VALIDATE_VERSION-standalone:${KUBERNETES_VERSIONS// /,}"
if [ ! -f "$tools/stamps/$stamp" ]; then
  python="$root/.venv/bin/python"
  [ -x "$python" ] || python="${PYTHON:-python3}"
  wheels="$tools/wheels"
  mkdir -p "$wheels"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheels" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  rm -rf "$schemas"
  "$python" - "$wheels/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl" "$schemas" $KUBERNETES_VERSIONS <<'PY'
import json
import re
import sys
import zipfile
from pathlib import Path

REFERENCE = re.compile(r'"\$ref": "(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')
wheel, target, versions = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    for version in versions:
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
        names = [name for name in archive.namelist() if name.startswith(prefix) and name.endswith(".json")]
        if not names:
            sys.exit(f"tools.sh: kubernetes-validate has no schemas for Kubernetes {version}")
        definitions = json.loads(archive.read(prefix + "_definitions.json"))["$defs"]
        uses = {name: REFERENCE.findall(json.dumps(schema)) for name, schema in definitions.items()}
        directory = target / f"v{version}-standalone-strict"
        directory.mkdir(parents=True)
        for name in names:
            if name.endswith("/_definitions.json"):
                continue
            text = archive.read(name).decode()
            needed, pending = set(), REFERENCE.findall(text)
            while pending:
                definition = pending.pop()
                if definition not in needed:
                    needed.add(definition)
                    pending.extend(uses[definition])
            schema = json.loads(text.replace('"/api/_definitions.json#', '"#'))
            schema.pop("$id", None)
            schema["$defs"] = {definition: definitions[definition] for definition in sorted(needed)}
            (directory / name.removeprefix(prefix)).write_text(json.dumps(schema))
PY
  rm -f "$tools/stamps"/kubernetes-json-schema@*
  done_with "$stamp"
fi

echo "tools.sh: kustomize, kubeconform, compose-config and Kubernetes schemas ready in $((SECONDS - started)) s" >&2
echo "$tools"
