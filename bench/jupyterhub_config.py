# JupyterHub 5 + configurable-http-proxy as the benchmark's reference point. Everything machine-specific comes from
# BENCH_* variables set by bench/bench.mjs, so this file stays a plain, reviewable config.
import json
import os

import jupyterhub

env = os.environ
c = get_config()  # noqa: F821 (provided by JupyterHub)
work = env["BENCH_JH_DIR"]

# Public port = CHP (what users hit); the hub itself listens on its own port behind CHP, as in any deployment.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["BENCH_JH_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["BENCH_JH_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['BENCH_JH_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [env["BENCH_CHP"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(work, "proxy.pid")  # how the driver finds CHP's RSS

c.JupyterHub.db_url = f"sqlite:///{os.path.join(work, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(work, "cookie_secret")
c.JupyterHub.pid_file = os.path.join(work, "jupyterhub.pid")
c.JupyterHub.log_level = "WARN"  # Ganymede runs at `warn` too: neither hub pays for per-request logging

# Any user, no password check: sign-in is not what is measured.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True

# The admin API token the driver uses, as a service with the admin role (JupyterHub 5's way).
c.JupyterHub.services = [{"name": "bench", "api_token": env["BENCH_JH_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [{"name": "admin", "services": ["bench"]}]

# LocalProcessSpawner without system accounts ("simple": every server runs as the hub's user, each in its own
# home directory) — the same arrangement as Ganymede's local spawner with `storage: directory` and `cgroups: off`.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(work, "homes", "{username}")
c.Spawner.cmd = json.loads(env["BENCH_SINGLEUSER"])  # argv: jupyterhub-singleuser, or bench/stand-in-server.py
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
# The stand-in answers JupyterHub's readiness check with this version, as jupyterhub-singleuser does with its own.
c.Spawner.environment = {"STAND_IN_JUPYTERHUB_VERSION": jupyterhub.__version__}
c.Spawner.start_timeout = 120  # 100 spawns on 2 cores can be slow; a timeout would only spoil the memory step
c.Spawner.http_timeout = 120

# No culler, no idle shutdown: nothing but the benchmark's own requests.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# BENCH_JH_KUBERNETES (JSON), set by bench/kubernetes.ts: KubeSpawner on the test cluster instead, arranged as
# Ganymede's Kubernetes backend is for the same run (a pod and a claim per server, the stand-in as the server).
kubernetes = json.loads(env.get("BENCH_JH_KUBERNETES", "null"))
if kubernetes:
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.namespace = kubernetes["namespace"]
    c.KubeSpawner.image = kubernetes["image"]
    c.KubeSpawner.image_pull_policy = "IfNotPresent"
    c.KubeSpawner.cmd = kubernetes["command"]
    c.KubeSpawner.args = []
    c.KubeSpawner.environment = {"STAND_IN_JUPYTERHUB_VERSION": jupyterhub.__version__}
    c.KubeSpawner.cpu_limit = c.KubeSpawner.cpu_guarantee = kubernetes["cpu"]
    c.KubeSpawner.mem_limit = c.KubeSpawner.mem_guarantee = kubernetes["memory"]
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.storage_capacity = kubernetes["storage"]
    c.KubeSpawner.volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
    c.KubeSpawner.volume_mounts = [{"name": "home", "mountPath": "/home/jovyan"}]
    c.KubeSpawner.start_timeout = 300
    c.KubeSpawner.http_timeout = 120

    # The overhead's samples (users ov*) get a whole CPU, as Ganymede's do through a policy.
    def whole_cpu_for_samples(spawner, pod):
        if spawner.user.name.startswith("ov"):
            resources = pod.spec.containers[0].resources
            resources.limits["cpu"] = resources.requests["cpu"] = "1"
            resources.limits["memory"] = resources.requests["memory"] = "256Mi"
        return pod

    c.KubeSpawner.modify_pod_hook = whole_cpu_for_samples
