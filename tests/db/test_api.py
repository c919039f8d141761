"""`weft api` for real: a uvicorn server on loopback (inside the test namespace) in front of
the throwaway PostgreSQL, driven with an HTTP client as a runtime or an operator would.

Refusals are checked against the CLI's: the same bad input through `weft` and through HTTP
must give the same message, the same field (as the CLI spells it), and leave every table as
it was (a dump compared before and after).
"""

from __future__ import annotations

import ssl
import threading

import httpx
import pytest
from test_cli_common import Weft, database_rows

from admin.errors import flag
from tests.support.api import api_process, api_thread

pytestmark = pytest.mark.postgres


@pytest.fixture
def api(migrated_postgres_url):
    """(base URL, admin client) of a running `weft api` on a database of its own."""
    token = make_token(migrated_postgres_url, "ops", "admin")
    with api_thread(migrated_postgres_url) as base, httpx.Client(
        base_url=base, headers=_bearer(token), timeout=10
    ) as client:
        yield base, client


def make_token(database_url: str, name: str, role: str) -> str:
    """`weft token create NAME --role ROLE`: the secret it prints."""
    return Weft(database_url).json("token", "create", name, "--role", role)["token"]


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _setup(client: httpx.Client) -> None:
    """Hosts h1, h2; network blue (a /29 and a /64, with a gateway) and red; port web-1."""
    for i in (1, 2):
        assert client.post("/v1/hosts", json={
            "name": f"h{i}", "ovsdb": f"tcp:198.18.0.{i}:6640", "tunnel_ip": f"203.0.113.{i}",
        }).status_code == 201
    assert client.post("/v1/networks", json={
        "name": "blue", "cidrs": ["198.51.100.0/29", "2001:db8:1::/64"],
        "gateways": ["198.51.100.1"],
    }).status_code == 201
    assert client.post("/v1/networks", json={"name": "red", "cidrs": ["198.51.100.0/24"]}
                       ).status_code == 201
    assert client.put("/v1/ports/web-1", json={"network": "blue"}).status_code == 201


def test_health_needs_no_token_and_everything_else_does(api):
    base, _ = api
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    for path in ("/v1/networks", "/v1/ports", "/v1/hosts", "/v1/status"):
        answer = httpx.get(f"{base}{path}")
        assert answer.status_code == 401
        assert "Bearer" in answer.json()["error"]["message"]
        wrong = httpx.get(f"{base}{path}", headers=_bearer("weft_not-a-token"))
        assert wrong.status_code == 401


def test_every_resource_is_created_read_listed_and_deleted(api):
    _, client = api
    _setup(client)
    assert [h["name"] for h in client.get("/v1/hosts").json()] == ["h1", "h2"]
    assert client.get("/v1/hosts/h1").json()["tunnel_ip"] == "203.0.113.1"
    blue = client.get("/v1/networks/blue").json()
    assert [s["cidr"] for s in blue["subnets"]] == ["198.51.100.0/29", "2001:db8:1::/64"]
    assert blue["subnets"][0]["free"] == 4  # .2-.6 minus web-1's
    port = client.get("/v1/ports/web-1").json()
    assert port["addresses"] == ["198.51.100.2", "2001:db8:1::1"]
    assert port["mac"] == "02:00:00:01:00:01" and port["state"] == "unbound"
    created = client.post("/v1/ports", json={"name": "web-2", "network": "blue",
                                             "ips": ["198.51.100.6"]})
    assert created.status_code == 201 and created.json()["addresses"][0] == "198.51.100.6"
    assert [p["name"] for p in client.get("/v1/ports", params={"network": "blue"}).json()] == [
        "web-1", "web-2"]
    assert client.post("/v1/networks/blue/groups", json={"address": "239.1.1.1"}
                       ).status_code == 201
    assert client.post("/v1/groups/239.1.1.1/members", json={"port": "web-1"}).status_code == 201
    (group,) = client.get("/v1/groups").json()
    assert group["members"] == [{"port": "web-1", "origin": "static", "expires_at": None}]
    assert client.get("/v1/status").json()["ports"] == {"unbound": 2, "bound": 0}
    assert client.delete("/v1/groups/239.1.1.1/members/web-1").status_code == 204
    assert client.delete("/v1/networks/blue/groups/239.1.1.1").status_code == 204
    assert client.delete("/v1/ports/web-2").status_code == 204
    assert client.get("/v1/ports/web-2").status_code == 404
    assert client.delete("/v1/networks/blue").status_code == 409  # web-1 is still in it
    assert client.delete("/v1/networks/blue", params={"force": "true"}).json() == {
        "deleted_ports": 1}
    assert client.delete("/v1/hosts/h2").json() == {"unbound_ports": 0}
    assert [n["name"] for n in client.get("/v1/networks").json()] == ["red"]
    assert [h["name"] for h in client.get("/v1/hosts").json()] == ["h1"]


# (CLI arguments, HTTP method, path, JSON body): the same bad input both ways.
REFUSALS = [
    (["network", "create", "blue"], "POST", "/v1/networks", {"name": "blue"}),
    (["network", "create", "x", "--cidr", "198.51.100.1/24"], "POST", "/v1/networks",
     {"name": "x", "cidrs": ["198.51.100.1/24"]}),
    (["network", "create", "x", "--vni", "0"], "POST", "/v1/networks", {"name": "x", "vni": 0}),
    (["network", "create", "x", "--mtu", "100"], "POST", "/v1/networks",
     {"name": "x", "mtu": 100}),
    (["network", "create", "bad name"], "POST", "/v1/networks", {"name": "bad name"}),
    (["network", "del", "nope"], "DELETE", "/v1/networks/nope", None),
    (["host", "add", "h1", "--ovsdb", "tcp:198.18.0.9:6640", "--tunnel-ip", "203.0.113.9"],
     "POST", "/v1/hosts", {"name": "h1", "ovsdb": "tcp:198.18.0.9:6640",
                           "tunnel_ip": "203.0.113.9"}),
    (["host", "add", "h3", "--ovsdb", "tcp:nope", "--tunnel-ip", "203.0.113.9"],
     "POST", "/v1/hosts", {"name": "h3", "ovsdb": "tcp:nope", "tunnel_ip": "203.0.113.9"}),
    (["host", "add", "h3", "--ovsdb", "tcp:198.18.0.9:6640", "--tunnel-ip", "203.0.113.2"],
     "POST", "/v1/hosts", {"name": "h3", "ovsdb": "tcp:198.18.0.9:6640",
                           "tunnel_ip": "203.0.113.2"}),
    (["port", "create", "web-1", "--network", "blue"], "POST", "/v1/ports",
     {"name": "web-1", "network": "blue"}),
    (["port", "create", "x", "--network", "nope"], "POST", "/v1/ports",
     {"name": "x", "network": "nope"}),
    (["port", "create", "x", "--network", "blue", "--ip", "198.51.100.1"], "POST", "/v1/ports",
     {"name": "x", "network": "blue", "ips": ["198.51.100.1"]}),
    (["port", "create", "x", "--network", "blue", "--ip", "198.51.100.2"], "POST", "/v1/ports",
     {"name": "x", "network": "blue", "ips": ["198.51.100.2"]}),
    (["port", "create", "x", "--network", "blue", "--ip", "nope"], "POST", "/v1/ports",
     {"name": "x", "network": "blue", "ips": ["nope"]}),
    (["port", "create", "x", "--network", "blue", "--mac", "ff:ff:ff:ff:ff:ff"], "POST",
     "/v1/ports", {"name": "x", "network": "blue", "mac": "ff:ff:ff:ff:ff:ff"}),
    (["port", "create", "x", "--network", "blue", "--mac", "02:00:00:01:00:01"], "POST",
     "/v1/ports", {"name": "x", "network": "blue", "mac": "02:00:00:01:00:01"}),
    (["port", "del", "nope"], "DELETE", "/v1/ports/nope", None),
    (["group", "create", "blue", "224.0.0.5"], "POST", "/v1/networks/blue/groups",
     {"address": "224.0.0.5"}),
    (["group", "join", "239.9.9.9", "web-1"], "POST", "/v1/groups/239.9.9.9/members",
     {"port": "web-1"}),
]
POSITIONAL = {"network": "NET", "group": "GROUP_IP", "port": "PORT"}


@pytest.mark.parametrize(("cli", "method", "path", "body"), REFUSALS,
                         ids=[" ".join(r[0]) for r in REFUSALS])
def test_bad_input_gets_the_clis_refusal_and_writes_nothing(api, migrated_postgres_url,
                                                            cli, method, path, body):
    _, client = api
    _setup(client)
    cli_error = Weft(migrated_postgres_url).refused(*cli).removeprefix("error: ")
    before = database_rows(migrated_postgres_url)
    answer = client.request(method, path, json=body)
    assert database_rows(migrated_postgres_url) == before
    assert answer.status_code in (400, 404, 409), answer.text
    error = answer.json()["error"]
    arguments = {"name": "NAME"} | (POSITIONAL if cli[0] == "group" else {})
    if cli[:2] == ["group", "join"]:
        arguments = {"name": "NAME", "group": "GROUP_IP", "port": "PORT"}
    assert f"{flag(error['field'], arguments)}: {error['message']}" == cli_error


def test_a_body_that_does_not_parse_is_422_naming_the_field(api):
    _, client = api
    answer = client.post("/v1/ports", json={"name": "x", "network": "blue", "macc": "x"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "macc"
    answer = client.post("/v1/networks", json={"name": "x", "vni": "many"})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "vni"
    assert client.get("/v1/nothing").json() == {"error": {"field": None,
                                                          "message": "Not Found"}}


def test_a_retried_put_creates_nothing_and_a_different_body_conflicts(api, migrated_postgres_url):
    _, client = api
    _setup(client)
    body = {"network": "blue", "ips": ["198.51.100.5"]}
    first = client.put("/v1/ports/web-9", json=body)
    assert first.status_code == 201
    before = database_rows(migrated_postgres_url)
    again = client.put("/v1/ports/web-9", json=body)
    assert again.status_code == 200 and again.json() == first.json()
    assert database_rows(migrated_postgres_url) == before
    other = client.put("/v1/ports/web-9", json={"network": "red"})
    assert other.status_code == 409
    assert 'network "blue"' in other.json()["error"]["message"]
    assert database_rows(migrated_postgres_url) == before


def test_a_host_token_handles_its_own_hosts_ports_only(api, migrated_postgres_url):
    base, admin = api
    _setup(admin)
    h1 = httpx.Client(base_url=base, timeout=10,
                      headers=_bearer(make_token(migrated_postgres_url, "cni-h1", "host:h1")))
    h2 = httpx.Client(base_url=base, timeout=10,
                      headers=_bearer(make_token(migrated_postgres_url, "cni-h2", "host:h2")))
    created = h1.put("/v1/ports/c1-eth0", json={"network": "blue"})
    assert created.status_code == 201 and created.json()["requested_host"] == "h1"
    assert h1.get("/v1/ports/c1-eth0").status_code == 200
    assert [p["name"] for p in h1.get("/v1/ports").json()] == ["c1-eth0"]  # not web-1
    assert h2.get("/v1/ports").json() == []
    for request in (h2.get("/v1/ports/c1-eth0"), h2.delete("/v1/ports/c1-eth0"),
                    h2.put("/v1/ports/c1-eth0", json={"network": "blue"}),
                    h1.get("/v1/ports/web-1"), h1.delete("/v1/ports/web-1"),
                    h1.put("/v1/ports/x", json={"network": "blue", "host": "h2"})):
        assert request.status_code == 403, request.text
    before = database_rows(migrated_postgres_url)
    for request in (h1.post("/v1/networks", json={"name": "green"}),
                    h1.delete("/v1/networks/blue"), h1.get("/v1/hosts"),
                    h1.post("/v1/hosts", json={"name": "h9", "ovsdb": "tcp:198.18.0.9:6640",
                                               "tunnel_ip": "203.0.113.9"}),
                    h1.get("/v1/status"), h1.get("/v1/groups"),
                    h1.post("/v1/networks/blue/groups", json={"address": "239.1.1.1"})):
        assert request.status_code == 403, request.text
    assert database_rows(migrated_postgres_url) == before
    network = h1.get("/v1/networks/blue").json()  # what a CNI plugin needs, not others' ports
    assert network["mtu"] == 1450 and network["ports"] is None
    assert h1.delete("/v1/ports/c1-eth0").status_code == 204


def test_a_revoked_token_is_refused_at_once(api, migrated_postgres_url):
    base, _ = api
    client = httpx.Client(base_url=base, timeout=10,
                          headers=_bearer(make_token(migrated_postgres_url, "temp", "admin")))
    assert client.get("/v1/networks").status_code == 200
    Weft(migrated_postgres_url).ok("token", "revoke", "temp")
    answer = client.get("/v1/networks")
    assert answer.status_code == 401 and answer.json()["error"]["message"] == (
        "unknown or revoked token")
    assert [t["revoked_at"] is not None for t in Weft(migrated_postgres_url).json(
        "token", "list")] == [False, True]  # ops, temp


def test_a_batch_creates_every_port_or_none(api, migrated_postgres_url):
    _, client = api
    _setup(client)
    batch = {"ports": [{"name": f"b{i}", "network": "red"} for i in range(50)]}
    created = client.post("/v1/ports:batch", json=batch)
    assert created.status_code == 201
    addresses = [p["addresses"][0] for p in created.json()["ports"]]
    assert addresses == [f"198.51.100.{i}" for i in range(1, 51)]
    before = database_rows(migrated_postgres_url)
    bad = {"ports": [{"name": "c1", "network": "red"}, {"name": "b3", "network": "red"}]}
    answer = client.post("/v1/ports:batch", json=bad)
    assert answer.status_code == 409
    assert answer.json()["error"] == {
        "field": "ports[1].name", "message": 'a port named "b3" already exists (in network "red")'}
    assert database_rows(migrated_postgres_url) == before


def test_eight_concurrent_clients_get_distinct_addresses(api):
    base, client = api
    assert client.post("/v1/networks", json={"name": "big", "cidrs": ["2001:db8:8::/64"]}
                       ).status_code == 201
    token = client.headers["Authorization"]
    failures: list[str] = []

    def create_many(worker: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": token}, timeout=30) as c:
            for i in range(200):
                answer = c.put(f"/v1/ports/w{worker}-{i}", json={"network": "big"})
                if answer.status_code != 201:
                    failures.append(answer.text)

    threads = [threading.Thread(target=create_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    ports = client.get("/v1/ports", params={"network": "big"}).json()
    addresses = [p["addresses"][0] for p in ports]
    assert len(ports) == 1600 and len(set(addresses)) == 1600
    assert len({p["mac"] for p in ports}) == 1600


def test_openapi_and_its_docs_page_are_served(api):
    base, _ = api
    schema = httpx.get(f"{base}/openapi.json").json()
    assert {"/v1/ports/{name}", "/v1/ports:batch", "/v1/networks", "/health"} <= set(
        schema["paths"])
    assert "swagger" in httpx.get(f"{base}/docs").text.lower()


def test_the_command_serves_https_with_cert_and_key(migrated_postgres_url, tmp_path):
    """`weft api --cert/--key`: the API answers over TLS only (a self-signed certificate made
    here), and stops cleanly on SIGTERM."""
    import subprocess

    cert, key = tmp_path / "api.crt", tmp_path / "api.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with api_process(migrated_postgres_url, "--cert", str(cert), "--key", str(key),
                     scheme="https") as base:
        context = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"{base}/health", verify=context).json() == {"status": "ok"}
        with pytest.raises(httpx.TransportError):
            httpx.get(base.replace("https", "http") + "/health")
