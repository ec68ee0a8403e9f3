"""The Kubernetes manifests as an operator gets them: rendered by ``kubectl kustomize`` (base and both overlays),
every rendered object valid against the Kubernetes API schemas (kubernetes-validate, offline, strict), and the
promises docs/deploy-kubernetes.md makes checked on the rendered objects: probes, resources, an unprivileged
read-only container, a NetworkPolicy per service, Secrets only from the operator's files, the gateway's routes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
SERVICES = ("tickets", "library", "volunteers", "notify", "accounts", "activities")
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")  # the oldest release still commonly run, and a recent one


def _kubectl() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl is not installed (it renders the kustomizations: `apt-get install -y kubectl`)"
    return found


def _operator_copy(tmp_path: Path) -> Path:
    """deploy/kubernetes copied with each overlay's secret files written as an operator would (from the
    examples, with values of this test's own), so the repository never holds one."""
    root = tmp_path / "kubernetes"
    shutil.copytree(K8S, root, ignore=shutil.ignore_patterns("*.env"))
    for example in root.glob("overlays/*/secrets/*.env.example"):
        text = example.read_text().replace("<password>", f"pw-{example.parent.parent.name}")
        text = re.sub(r"^(LINLI_PII_KEY|LINLI_JWT_SECRET)=$", r"\1=secret-of-the-test", text, flags=re.M)
        example.with_suffix("").write_text(text)
    return root


def _render(folder: Path) -> list[dict]:
    done = subprocess.run([_kubectl(), "kustomize", str(folder)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    root = _operator_copy(tmp_path_factory.mktemp("k8s"))
    folders = {"base": "base", "dev": "overlays/dev", "prod": "overlays/prod"}
    return {name: _render(root / path) for name, path in folders.items()}


def _of(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _unhashed(name: str) -> str:
    """A generated object's name without the content hash kustomize appends (``linli-common-5k2f…``)."""
    return name.rsplit("-", 1)[0]


def _pod_specs(objects: list[dict]) -> dict[str, dict]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    }


@pytest.mark.parametrize("variant", ["base", "dev", "prod"])
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(rendered, variant, version):
    objects = rendered[variant]
    assert len(objects) > 30
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{variant}: {obj['kind']}/{obj['metadata']['name']} is invalid for {version}: {exc.message}")


def test_a_misspelt_field_is_refused_by_the_validation():
    """The check above can fail: strict validation refuses a field the API does not have."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": [{"port": 1}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_each_service_runs_its_target_with_probes_resources_and_graceful_shutdown(rendered, variant):
    deployments = _of(rendered[variant], "Deployment")
    assert set(deployments) == {*SERVICES, "gateway"}
    for name in SERVICES:
        spec = deployments[name]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["command"] == ["linli", "run", name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        env_from = [_unhashed(e.get("secretRef", e.get("configMapRef"))["name"]) for e in container["envFrom"]]
        # the settings, the shared secrets and its own store's Secret, never another service's
        assert env_from == ["linli-config", "linli-common", f"linli-{name}"]
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        # the pod leaves the endpoints, then uvicorn drains and the runtime has 10 s for the batch in hand
        assert spec["terminationGracePeriodSeconds"] >= pre_stop + 10 + 20
    for label, spec in _pod_specs(rendered[variant]).items():
        for container in spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), label
            assert {"cpu", "memory"} <= set(resources["limits"]), label
            if label.startswith("Deployment/"):
                assert "readinessProbe" in container and "livenessProbe" in container, label


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_container_is_unprivileged_with_a_read_only_root(rendered, variant):
    for label, spec in _pod_specs(rendered[variant]).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, label
        assert spec["securityContext"]["runAsUser"] >= 10000, label
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", label
        assert spec["automountServiceAccountToken"] is False, label
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, label
            assert context["readOnlyRootFilesystem"] is True, label
            assert context["capabilities"]["drop"] == ["ALL"], label
            mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounted, label  # uploads and nginx's buffers need a writable /tmp
    namespace = next(o for o in rendered[variant] if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def _selects(policy: dict, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] != "In" or labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_network_policies_confine_every_pod(rendered, variant):
    objects = rendered[variant]
    policies = _of(objects, "NetworkPolicy")
    deny = policies["linli-default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"} and "egress" not in deny
    for name in SERVICES:
        labels = _of(objects, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        own = policies[name]["spec"]
        assert own["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        sources = [s.get("podSelector", {}).get("matchLabels") for rule in own["ingress"] for s in rule["from"]]
        assert {"app.kubernetes.io/name": "gateway"} in sources
        egress = [p for p in policies.values() if _selects(p, labels) and "Egress" in p["spec"]["policyTypes"]]
        ports = {port["port"] for p in egress for rule in p["spec"].get("egress", []) for port in rule["ports"]}
        allowed = {53, 8000, 6379, 5432} | ({443, 465, 587, 25} if name in ("notify", "accounts") else set())
        assert ports == allowed, (name, ports)
    gateway = policies["gateway"]["spec"]
    assert gateway["egress"][0]["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "service"}
    assert "migrate" in "".join(policies)


def test_prod_reaches_only_the_managed_stores_addresses(rendered):
    egress = _of(rendered["prod"], "NetworkPolicy")["linli-datastores"]["spec"]["egress"]
    assert [(r["to"][0]["ipBlock"]["cidr"].endswith("/32"), r["ports"][0]["port"]) for r in egress] == [
        (True, 6379),
        (True, 5432),
    ]


def test_secrets_come_only_from_the_operators_files(rendered, tmp_path):
    for source in K8S.rglob("*.yaml"):
        for doc in yaml.safe_load_all(source.read_text()):
            if not doc:
                continue
            assert doc.get("kind") != "Secret", f"{source}: a Secret in the repository"
            for generator in doc.get("secretGenerator", []):
                assert "literals" not in generator and set(generator) == {"name", "envs"}, source
    assert not list(K8S.rglob("*.env")) or all(
        subprocess.run(["git", "check-ignore", "-q", str(p)], cwd=REPO).returncode == 0 for p in K8S.rglob("*.env")
    ), "an operator's secret file is not ignored by git"
    secrets = _of(rendered["prod"], "Secret")
    assert {_unhashed(n) for n in secrets} == {"linli-common", *(f"linli-{s}" for s in SERVICES)}
    # without the operator's files there is nothing to deploy: rendering refuses
    bare = tmp_path / "bare"
    shutil.copytree(K8S, bare, ignore=shutil.ignore_patterns("*.env"))
    done = subprocess.run([_kubectl(), "kustomize", str(bare / "overlays" / "prod")], capture_output=True, text=True)
    assert done.returncode != 0 and "common.env" in done.stderr


def test_the_migration_job_upgrades_every_store(rendered):
    job = _of(rendered["prod"], "Job")["linli-migrate"]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["command"] == ["linli", "db", "upgrade"]
    refs = {_unhashed(e["secretRef"]["name"]) for e in container["envFrom"] if "secretRef" in e}
    assert refs == {"linli-common", *(f"linli-{s}" for s in SERVICES)}
    assert job["restartPolicy"] == "Never"


def test_the_overlays_size_the_deployment(rendered):
    dev, prod = rendered["dev"], rendered["prod"]
    assert not _of(dev, "HorizontalPodAutoscaler") and not _of(dev, "PodDisruptionBudget")
    assert all(d["spec"]["replicas"] == 1 for d in _of(dev, "Deployment").values())
    hpas, pdbs = _of(prod, "HorizontalPodAutoscaler"), _of(prod, "PodDisruptionBudget")
    assert set(hpas) == set(pdbs) == {*SERVICES, "gateway"}
    for name, hpa in hpas.items():
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert pdbs[name]["spec"]["maxUnavailable"] == 1
    assert all("replicas" not in d["spec"] for d in _of(prod, "Deployment").values())  # the HPA owns the count
    images = {c["image"] for spec in _pod_specs(prod).values() for c in spec["containers"]}
    assert all(":" in i and not i.endswith(":latest") for i in images), images


def test_the_ingress_publishes_the_gateways_routes_with_tls_in_prod(rendered):
    routes = (REPO / "deploy" / "nginx" / "routes.conf").read_text()
    for variant in ("dev", "prod"):
        (ingress,) = _of(rendered[variant], "Ingress").values()
        paths = ingress["spec"]["rules"][0]["http"]["paths"]
        assert {p["backend"]["service"]["name"] for p in paths} == {"gateway"}
        published = {p["path"] for p in paths}
        assert {f"/api/{s}/" for s in SERVICES} | {"/open311/v2", "/console", "/app"} <= published
        for path in published - {"/"}:
            assert re.search(rf"location (= |~ \^)?{re.escape(path)}", routes), f"{path}: not a gateway route"
        assert not any(p in published for p in ("/healthz", "/readyz", "/metrics"))
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"
    (prod,) = _of(rendered["prod"], "Ingress").values()
    assert prod["spec"]["tls"][0]["hosts"] == [prod["spec"]["rules"][0]["host"]]


def test_the_gateway_image_configuration_is_accepted_by_nginx(tmp_path):
    """The files the gateway image is built from (deploy/kubernetes/gateway/Dockerfile), with its one rewrite
    of gateway.conf applied by the same sed, pass `nginx -t` (Debian's nginx; the image runs 1.27)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed: `apt-get install -y nginx` (.ci/run installs it)"
    dockerfile = (K8S / "gateway" / "Dockerfile").read_text()
    (expression,) = re.findall(r"sed -i '([^']+)'", dockerfile)
    prefix = tmp_path / "nginx"
    shutil.copytree(REPO / "deploy" / "nginx", prefix / "linli")
    shutil.copy(K8S / "gateway" / "kubernetes.conf", prefix / "linli" / "kubernetes.conf")
    shutil.copy("/etc/nginx/mime.types", prefix / "mime.types")
    main = (K8S / "gateway" / "nginx.conf").read_text().replace("/tmp/", f"{tmp_path}/")
    (prefix / "nginx.conf").write_text(main)
    upstreams = prefix / "linli" / "upstreams.conf"
    upstreams.write_text(re.sub(r"server \w+:8000", "server 127.0.0.1:8000", upstreams.read_text()))
    gateway_conf = prefix / "linli" / "gateway.conf"
    subprocess.run(["sed", "-i", expression, str(gateway_conf)], check=True)
    rewritten = r"^map \$http_x_forwarded_proto \$linli_proto \{\n    https https;"
    assert re.search(rewritten, gateway_conf.read_text(), re.M), (
        "deploy/nginx/gateway.conf no longer has the map the gateway image rewrites"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
