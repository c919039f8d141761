"""docker-compose.yml, the Dockerfiles and the scripts they run, checked without a Docker engine.

Nothing is built or started here (tests/docker does that, with a real engine). What is
checked is: Debian's docker-compose (1.29, installed by scripts/setup) accepts the file
(`config` validates it against the Compose Specification schema), the structure the
deployment relies on holds in its resolved form (what `docker-compose config` prints,
anchors merged and variables substituted), the controller's settings in it load with
ControllerConfig, the Dockerfile copies every package and passes .dockerignore, and the
scripts the images run do what they say on a real SQLite database. The last test (marked
lab) runs the whole stack's scripts with network namespaces standing in for the containers.
tests/docker and docs/docker.md cover what this cannot.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from controller.config import ENV_PREFIX, ControllerConfig
from lab import netns, procs
from lab.deployment import FETCH, wait_for
from northbound import schema

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
HOSTS = ("host1", "host2", "host3")
# What the containers' scripts find on PATH: the venv's `weft`, then the system's tools.
SCRIPT_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def compose(
    *args: str, file: Path = COMPOSE_FILE, variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # A clean environment: a WEFT_DB_PASSWORD of the caller's must not change the result.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    env.update(variables or {})
    return subprocess.run(
        ["docker-compose", "-f", str(file), "--project-directory", str(ROOT), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    """The compose file as docker-compose resolves it."""
    result = compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def service_env(service: dict) -> dict[str, str]:
    return {key: str(value) for key, value in service.get("environment", {}).items()}


# ---------------------------------------------------------------- the file is valid


def test_docker_compose_accepts_the_file():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_docker_compose_config_rejects_an_invalid_file(tmp_path):
    """The check above has teeth: a copy of the file passes, the same with one key the schema
    does not know is refused."""
    copy, broken = tmp_path / "copy.yml", tmp_path / "broken.yml"
    text = COMPOSE_FILE.read_text()
    copy.write_text(text)
    broken.write_text(text.replace("  cap_add:", "  cap_added:"))
    assert compose("config", "-q", file=copy).returncode == 0
    result = compose("config", "-q", file=broken)
    assert result.returncode != 0
    assert "cap_added" in result.stderr


# ---------------------------------------------------------------- structure


def test_services(config):
    assert set(config["services"]) == {"db", "controller", "api", "register", *HOSTS}


def test_the_api_waits_for_the_migrated_database_and_has_a_healthcheck(config):
    api = config["services"]["api"]
    assert api["command"][:2] == ["weft", "api"]
    assert api["depends_on"]["controller"]["condition"] == "service_healthy"
    assert "/health" in api["healthcheck"]["test"][-1]


def test_postgres_has_a_healthcheck_that_the_controller_waits_for(config):
    db = config["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]
    controller = config["services"]["controller"]
    assert controller["depends_on"] == {"db": {"condition": "service_healthy"}}


def test_registration_waits_for_a_healthy_controller(config):
    """The controller's entrypoint migrates before it serves /metrics, which its healthcheck
    reads: a healthy controller means a schema that `weft host add` can write to."""
    services = config["services"]
    assert services["register"]["depends_on"] == {"controller": {"condition": "service_healthy"}}
    check = " ".join(services["controller"]["healthcheck"]["test"])
    metrics_port = service_env(services["controller"])["WEFT_METRICS_LISTEN"].rsplit(":", 1)[1]
    assert f"127.0.0.1:{metrics_port}/metrics" in check


def test_no_host_networking_and_every_network_internal(config):
    for name, service in config["services"].items():
        assert "network_mode" not in service, name
        assert not service.get("privileged"), name
        assert service.get("pid") != "host", name
        assert service.get("networks"), f"{name} must join the project's own networks"
        assert set(service["networks"]) <= set(config["networks"]), name
    for name, network in config["networks"].items():
        assert network.get("internal") is True, name


def test_fixed_addresses_are_unique_and_inside_their_networks(config):
    subnets = {
        name: ipaddress.ip_network(network["ipam"]["config"][0]["subnet"])
        for name, network in config["networks"].items()
        if "ipam" in network
    }
    seen = set()
    for name, service in config["services"].items():
        for network, settings in service["networks"].items():
            address = (settings or {}).get("ipv4_address")
            if address is None:
                continue
            assert ipaddress.ip_address(address) in subnets[network], (name, network)
            assert address not in seen, f"{address} given twice"
            seen.add(address)


def host_addresses(config, name: str) -> tuple[str, str]:
    networks = config["services"][name]["networks"]
    return networks["mgmt"]["ipv4_address"], networks["underlay"]["ipv4_address"]


def test_each_host_is_told_its_own_addresses_and_registered_with_them(config):
    services = config["services"]
    registered = services["register"]["command"]
    triples = [tuple(registered[i:i + 3]) for i in range(0, len(registered), 3)]
    expected = []
    for name in HOSTS:
        mgmt_ip, tunnel_ip = host_addresses(config, name)
        env = service_env(services[name])
        assert env == {"HOST_NAME": name, "MGMT_IP": mgmt_ip, "TUNNEL_IP": tunnel_ip}
        expected.append((name, mgmt_ip, tunnel_ip))
    assert triples == expected


def test_ovs_hosts_get_what_the_userspace_datapath_needs(config):
    for name in HOSTS:
        host = config["services"][name]
        assert host["build"]["context"] == str(ROOT / "deploy" / "ovs-host")
        assert {"NET_ADMIN", "NET_RAW"} <= set(host["cap_add"])
        assert "/dev/net/tun:/dev/net/tun" in host["devices"]
        assert str(host["sysctls"]["net.ipv4.conf.all.arp_ignore"]) == "1"
        assert str(host["sysctls"]["net.ipv6.conf.all.disable_ipv6"]) == "1"


def test_controller_settings_load_and_point_hosts_at_the_controller(config):
    controller = config["services"]["controller"]
    env = service_env(controller)
    fields = {ENV_PREFIX + name.upper() for name in ControllerConfig.__dataclass_fields__}
    assert {key for key in env if key.startswith(ENV_PREFIX)} <= fields, "unknown WEFT_ setting"
    settings = ControllerConfig.load(environ=env)
    assert settings.log_format == "json"
    assert settings.database_url.startswith("postgresql://") and "@db:" in settings.database_url
    controller_ip = controller["networks"]["mgmt"]["ipv4_address"]
    openflow_port = settings.openflow_listen.rsplit(":", 1)[1]
    assert settings.target == f"tcp:{controller_ip}:{openflow_port}"
    assert {openflow_port, settings.metrics_listen.rsplit(":", 1)[1]} <= set(controller["expose"])
    assert controller["build"]["context"] == str(ROOT)


def test_the_database_password_is_substituted_in_both_places():
    result = compose("config", variables={"WEFT_DB_PASSWORD": "s3cret"})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    for name in ("controller", "register"):
        assert ":s3cret@db:" in services[name]["environment"]["WEFT_DATABASE_URL"]


# ---------------------------------------------------------------- the images' build inputs


def copied_sources(dockerfile: Path) -> list[str]:
    """The build-context paths a Dockerfile's COPY instructions read."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; `!` re-includes."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            excluded = not negated
    return excluded


def test_the_controller_image_gets_every_package_and_script():
    sources = copied_sources(ROOT / "Dockerfile")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    host_side = {"lab", "cni"}  # the lab, and the CNI plugin that runs on OVS hosts
    packages = {pattern.rstrip("*") for pattern in included} - host_side
    assert packages <= set(sources), "a package of pyproject.toml is not copied into the image"
    assert "lab" not in sources, "the controller image needs no lab"
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), f"{source} is left out by .dockerignore"
    assert ignored(".venv", patterns) and ignored("tests", patterns)


def test_the_ovs_host_image_gets_its_scripts():
    context = ROOT / "deploy" / "ovs-host"
    for source in copied_sources(context / "Dockerfile"):
        assert (context / source).is_file(), source
        assert os.access(context / source, os.X_OK), f"{source} is not executable"


@pytest.mark.parametrize(
    "script",
    ["controller-entrypoint.sh", "register-hosts.sh", "ovs-host/entrypoint.sh",
     "ovs-host/demo-port.sh"],
)
def test_scripts_are_executable_posix_shell(script):
    path = ROOT / "deploy" / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/bin/sh\n")
    result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- the scripts, for real


def run_script(script: str, *args: str, url: str) -> subprocess.CompletedProcess:
    env = {"PATH": SCRIPT_PATH, "HOME": os.environ.get("HOME", "/root"), "WEFT_DATABASE_URL": url}
    return subprocess.run(
        [str(ROOT / "deploy" / script), *args], env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_the_entrypoint_migrates_before_the_controller(sqlite_url):
    """`weft controller --help` stands in for the controller: the entrypoint must migrate
    first and then run the command it was given."""
    assert shutil.which("weft", path=SCRIPT_PATH)
    result = run_script("controller-entrypoint.sh", "weft", "controller", "--help", url=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "Run the Weft controller" in result.stdout
    assert schema.current_revision(sqlite_url) is not None


def test_the_entrypoint_runs_other_commands_without_migrating(sqlite_url):
    result = run_script("controller-entrypoint.sh", "weft", "db", "current", url=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "base (empty)"
    assert schema.current_revision(sqlite_url) is None


def test_register_hosts_adds_each_host_once(migrated_sqlite_url):
    args = ("host1", "198.18.0.11", "203.0.113.11", "host2", "198.18.0.12", "203.0.113.12")
    first = run_script("register-hosts.sh", *args, url=migrated_sqlite_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("added host") == 2
    again = run_script("register-hosts.sh", *args, url=migrated_sqlite_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["host1: already registered", "host2: already registered"]
    listed = run_script("controller-entrypoint.sh", "weft", "host", "list", "--json",
                        url=migrated_sqlite_url)
    hosts = yaml.safe_load(listed.stdout)  # JSON is YAML
    assert [(h["name"], h["ovsdb_target"], h["tunnel_ip"]) for h in hosts] == [
        ("host1", "tcp:198.18.0.11:6640", "203.0.113.11"),
        ("host2", "tcp:198.18.0.12:6640", "203.0.113.12"),
    ]


def test_register_hosts_fails_on_an_unusable_database(sqlite_url):
    """An empty database is not "host unknown": the script must stop, not try to add."""
    result = run_script("register-hosts.sh", "host1", "198.18.0.11", "203.0.113.11",
                        url=sqlite_url)
    assert result.returncode == 4
    assert "weft db upgrade" in result.stderr
    assert "added host" not in result.stdout


def test_register_hosts_wants_triples(migrated_sqlite_url):
    result = run_script("register-hosts.sh", "host1", "198.18.0.11", url=migrated_sqlite_url)
    assert result.returncode == 2
    assert "usage:" in result.stderr


# ---------------------------------------------------------------- the stack, in namespaces


class ComposeStandIn:
    """The compose file's wiring without Docker: a network namespace per container, Linux
    bridges in one more namespace for the `mgmt` and `underlay` networks (with Docker's
    gateway addresses), each container's interfaces and sysctls as Docker and the compose
    file set them, and each OVS host's entrypoint in a private mount namespace, so that the
    default paths it uses (/var/run/openvswitch, /etc/openvswitch) are its own, as in a
    container. Only the OVS hosts and the controller get namespaces: the database is a
    SQLite file."""

    def __init__(self, prefix: str, hosts: dict[str, tuple[str, str]], controller_ip: str):
        self.prefix = prefix
        self.hosts = hosts  # name -> (mgmt ip, tunnel ip)
        self.controller_ip = controller_ip
        self.processes: dict[str, subprocess.Popen] = {}

    def ns(self, container: str) -> str:
        return f"{self.prefix}{container}"

    @property
    def namespaces(self) -> list[str]:
        return [self.ns(name) for name in ("docker", "controller", *self.hosts)]

    def wire(self) -> None:
        netns.add(self.namespaces)
        cables = [("controller", "eth0", "mgmt", f"{self.controller_ip}/24")]
        for k, (name, (mgmt_ip, tunnel_ip)) in enumerate(self.hosts.items()):
            # Docker promises no interface order: the second host gets them the other way.
            order = ("eth0", "eth1") if k % 2 else ("eth1", "eth0")
            cables += [(name, order[0], "underlay", f"{tunnel_ip}/24"),
                       (name, order[1], "mgmt", f"{mgmt_ip}/24")]
        docker = self.ns("docker")
        netns.ip_batch(
            f"link add v{i} netns {docker} type veth peer name {ifname} netns {self.ns(name)}"
            for i, (name, ifname, _, _) in enumerate(cables)
        )
        netns.ip_batch(
            [
                "link add mgmt type bridge", "addr add 198.18.0.1/24 dev mgmt", "link set mgmt up",
                "link add underlay type bridge", "addr add 203.0.113.1/24 dev underlay",
                "link set underlay up",
                *(f"link set v{i} master {net} up" for i, (_, _, net, _) in enumerate(cables)),
            ],
            netns=docker,
        )
        for name, ifname, _, address in cables:
            netns.ip_batch(
                ["link set lo up", f"addr add {address} dev {ifname}", f"link set {ifname} up"],
                netns=self.ns(name),
            )
        for name in self.hosts:  # the compose file's sysctls
            netns.run(["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1",
                       "net.ipv6.conf.all.disable_ipv6=1",
                       "net.ipv6.conf.default.disable_ipv6=1"], netns=self.ns(name))

    def start_host(self, name: str, log: Path) -> None:
        mgmt_ip, tunnel_ip = self.hosts[name]
        private_dirs = " && ".join(
            f"mount -t tmpfs tmpfs {path}"
            for path in ("/run", "/etc/openvswitch", "/var/log/openvswitch")
        )
        self.processes[name] = netns.popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"{private_dirs} && exec {ROOT / 'deploy/ovs-host/entrypoint.sh'}"],
            netns=self.ns(name),
            env={"HOST_NAME": name, "MGMT_IP": mgmt_ip, "TUNNEL_IP": tunnel_ip},
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )

    def start_controller(self, env: dict[str, str], log: Path) -> None:
        self.processes["controller"] = netns.popen(
            [str(ROOT / "deploy/controller-entrypoint.sh")], netns=self.ns("controller"),
            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        )

    def in_container(self, name: str, argv: list[str]) -> subprocess.CompletedProcess:
        """`docker compose exec NAME ARGV`: the container's network and mount namespaces."""
        pid = self.processes[name].pid
        return netns.run(["nsenter", "-t", str(pid), "-m", "-n", *argv], check=False)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            process.wait(timeout=30)

    def ovs_daemons(self) -> list[str]:
        inodes = netns.inodes(self.namespaces)
        return [p.cmdline for p in procs.scan() if p.netns_inode in inodes and "ovs" in p.cmdline]

    def remove(self) -> None:
        netns.delete(self.namespaces)


@pytest.mark.lab
def test_the_compose_stack_in_namespaces_forms_an_overlay(tmp_path, sqlite_url):
    """The four scripts the compose file runs, run as it runs them: the controller's
    entrypoint migrates and starts it, registration adds the hosts once the controller
    serves /metrics (its healthcheck), each host's entrypoint brings up OVS with the VTEP on
    br-phy, demo ports bind, and they reach each other across hosts; a SIGTERM (`docker
    stop`) leaves no OVS daemon behind."""
    hosts = {"host1": ("198.18.0.11", "203.0.113.11"), "host2": ("198.18.0.12", "203.0.113.12")}
    stack = ComposeStandIn(f"wc{os.getpid() % 100000}-", hosts, controller_ip="198.18.0.10")
    env = {
        "PATH": SCRIPT_PATH, "HOME": os.environ.get("HOME", "/root"),
        "WEFT_DATABASE_URL": sqlite_url, "WEFT_OPENFLOW_LISTEN": "0.0.0.0:6653",
        "WEFT_CONTROLLER_TARGET": "tcp:198.18.0.10:6653",
        "WEFT_METRICS_LISTEN": "0.0.0.0:9464", "WEFT_LOG_FORMAT": "json",
    }
    metrics = [sys.executable, "-c", FETCH, "http://127.0.0.1:9464/metrics"]
    try:
        stack.wire()
        for name in hosts:
            stack.start_host(name, tmp_path / f"{name}.log")
        stack.start_controller(env, tmp_path / "controller.log")
        wait_for(lambda: netns.run(metrics, netns=stack.ns("controller"), check=False)
                 .returncode == 0, timeout=60, what="the controller's /metrics")
        triples = [a for name, (mgmt, tunnel) in hosts.items() for a in (name, mgmt, tunnel)]
        registered = run_script("register-hosts.sh", *triples, url=sqlite_url)
        assert registered.returncode == 0, registered.stderr
        weft = [str(Path(sys.executable).with_name("weft"))]
        for k, name in enumerate(hosts, 1):
            mac, ip = f"02:00:00:00:01:0{k}", f"198.51.100.1{k}"
            if k == 1:
                netns.run([*weft, "network", "create", "blue", "--cidr", "198.51.100.0/24"],
                          env=env)
            netns.run([*weft, "port", "create", f"web-{k}", "--network", "blue", "--mac", mac,
                       "--ip", ip], env=env)
            plugged = stack.in_container(name, [str(ROOT / "deploy/ovs-host/demo-port.sh"),
                                                f"web-{k}", mac, f"{ip}/24"])
            assert plugged.returncode == 0, plugged.stderr
        wait_for(lambda: netns.run([*weft, "status"], env=env, check=False).returncode == 0,
                 timeout=60, what="weft status: everything up")
        for name, peer in (("host1", "198.51.100.12"), ("host2", "198.51.100.11")):
            ping = stack.in_container(name, ["ping", "-c", "5", "-i", "0.2", "-w", "10", peer])
            assert ping.returncode == 0, f"{name} cannot reach {peer}:\n{ping.stdout}"
        stack.stop()
        assert stack.processes["host1"].returncode == 0
        wait_for(lambda: not stack.ovs_daemons(), timeout=10, what="the OVS daemons to exit")
    finally:
        stack.stop()
        stack.remove()
