"""Structure of the rendered overlays (deploy/check.sh): what docs/operations.md
promises, checked on every overlay's output.

  python3 check_manifests.py RENDERED.yaml...
"""

import sys

import yaml

SERVICES = {  # Deployment suffix -> `--services` value
    "auth": "auth",
    "accounts": "accounts",
    "numbers": "numbers",
    "callflows": "callflows",
    "office-hours": "office_hours",
}


def dep_selector(by_kind, name):
    dep = by_kind.get("Deployment", {}).get(name)
    return dep["spec"]["selector"]["matchLabels"] if dep else None


def check(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    errors = []

    def need(kind, name):
        obj = by_kind.get(kind, {}).get(name)
        if obj is None:
            errors.append(f"missing {kind} {name}")
        return obj

    if not all(d["metadata"].get("namespace") or d["kind"] == "Namespace" for d in docs):
        errors.append("an object has no namespace")

    components = {f"crossbar-{s}": ["serve", "--services", arg] for s, arg in SERVICES.items()}
    components["crossbar-gateway"] = ["gateway"]
    for name, args in components.items():
        dep = need("Deployment", name)
        need("Service", name)
        if name != "crossbar-gateway":
            # The headless Service the gateway resolves to every ready pod.
            pods = need("Service", f"{name}-pods")
            if pods and (pods["spec"].get("clusterIP") != "None"
                         or pods["spec"].get("selector") != dep_selector(by_kind, name)):
                errors.append(f"Service {name}-pods is not headless over {name}'s pods")
        hpa = need("HorizontalPodAutoscaler", name)
        need("PodDisruptionBudget", name)
        if hpa and hpa["spec"]["scaleTargetRef"]["name"] != name:
            errors.append(f"HPA {name} scales {hpa['spec']['scaleTargetRef']['name']}")
        if not dep:
            continue
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        if c.get("args") != args:
            errors.append(f"{name}: args {c.get('args')} != {args}")
        probes = {p: c.get(p, {}).get("httpGet", {}).get("path")
                  for p in ("startupProbe", "livenessProbe", "readinessProbe")}
        if probes != {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
            errors.append(f"{name}: probes {probes}")
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem")
                and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"]
                and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
            errors.append(f"{name}: container securityContext {sc}")
        for k in ("requests", "limits"):
            if set(c.get("resources", {}).get(k, {})) != {"cpu", "memory"}:
                errors.append(f"{name}: resources.{k}")
        ann = dep["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics":
            errors.append(f"{name}: Prometheus scrape annotations")
        env = {e["name"] for e in c.get("env", [])}
        secret_vols = [v["name"] for v in pod.get("volumes", []) if "secret" in v]
        if name == "crossbar-gateway":
            if "CROSSBAR_CONFIG" in env or secret_vols:
                errors.append("gateway: mounts a secret")
        elif "CROSSBAR_CONFIG" not in env:
            errors.append(f"{name}: no CROSSBAR_CONFIG (database secret)")

    # The gateway's upstreams name every service, each at its headless Service (one
    # address per ready pod: the gateway balances per request).
    gw_cm = next((cm for n, cm in by_kind.get("ConfigMap", {}).items() if n.startswith("crossbar-gateway")), None)
    upstreams = (gw_cm or {}).get("data", {}).get("CROSSBAR_UPSTREAMS", "")
    for s, arg in SERVICES.items():
        if f'{arg}=["http://crossbar-{s}-pods:8000"]' not in upstreams:
            errors.append(f"CROSSBAR_UPSTREAMS lacks {arg} -> crossbar-{s}-pods")

    job = need("Job", "crossbar-migrate")
    if job and job["spec"]["template"]["spec"]["containers"][0].get("args") != ["migrate"]:
        errors.append("Job crossbar-migrate does not run `crossbar migrate`")
    need("Ingress", "crossbar")
    need("NetworkPolicy", "crossbar-default-deny")
    need("NetworkPolicy", "crossbar-services")
    need("NetworkPolicy", "crossbar-gateway")
    need("ConfigMap", next((n for n in by_kind.get("ConfigMap", {}) if n.startswith("crossbar-config")), "crossbar-config"))
    # Secrets are rendered only by the dev overlay (generated from git-ignored files).
    for name in by_kind.get("Secret", {}):
        if not path.endswith("/dev.yaml"):
            errors.append(f"Secret {name} rendered outside the dev overlay")
    return len(docs), errors


failed = False
for path in sys.argv[1:]:
    count, errors = check(path)
    label = path.rsplit("/", 1)[-1]
    if errors:
        failed = True
        for e in errors:
            print(f"   {label}: {e}")
    else:
        print(f"   structure of {label}: ok ({count} objects)")
sys.exit(1 if failed else 0)
