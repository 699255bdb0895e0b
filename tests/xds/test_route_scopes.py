"""Scoped routes (meshctl/xds/route_scopes.py): which route configurations are split by first path segment, what
the split holds, the pieces an edit reuses, route-configuration pushes of only what changed, and real Envoy
answering a scoped configuration as the sandbox does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from envoy_data_plane.envoy.config.route.v3 import (
    DirectResponseAction,
    Route,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
    VirtualHostTlsRequirementType,
)
from envoy_data_plane.envoy.service.discovery.v3 import DiscoveryRequest
from fixtures_e2e import (
    DIFF_NS,
    DiffRequest,
    MeshHarness,
    RouteTreeGenerator,
    run_differential,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_server_protocol import AdsClient, ack, names_of, node

from meshctl.cli.cmd_xds import status_table
from meshctl.envoy.ports import free_port
from meshctl.sources.files import FileSource
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo, XdsSnapshot
from meshctl.xds.codec import ROUTE_TYPE, SCOPED_ROUTE_TYPE
from meshctl.xds.route_scopes import ScopeMemo, scope_key
from meshctl.xds.server import XdsServer
from meshctl.xds.translate import TranslateOptions, Translator

API = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def route(prefix: str | None = None, path: str | None = None, regex: bool = False,
          case_sensitive: bool | None = None) -> Route:
    """A new Envoy route object each call (as the route memo makes for an edited route)."""
    from envoy_data_plane.envoy.type.matcher.v3 import RegexMatcher

    if regex:
        match = RouteMatch(safe_regex=RegexMatcher(regex=prefix or ""))
    elif path is not None:
        match = RouteMatch(path=path, case_sensitive=case_sensitive)
    else:
        match = RouteMatch(prefix=prefix, case_sensitive=case_sensitive)
    return Route(match=match, direct_response=DirectResponseAction(status=200))


@pytest.mark.parametrize(("made", "key"), [
    (route("/a/"), "a"), (route("/api/v1/x"), "api"), (route(path="/a/b"), "a"), (route("/a/b/c"), "a"),
    (route("/a"), None),  # also "/ab", "/a?q": no segment pinned
    (route(path="/a"), None),  # "/a?q" keys "a?q"
    (route("/"), None), (route("//a/"), None), (route("a/b/"), None),
    (route("/a/", case_sensitive=False), None), (route("/a/", case_sensitive=True), "a"),
    (route("/a/.*", regex=True), None),
])
def test_a_route_pins_its_first_segment_only_with_a_case_sensitive_path_that_ends_it(made: Route,
                                                                                     key: str | None) -> None:
    assert scope_key(made) == key


def config(*hosts: tuple[str, list[Route]], tls: bool = False) -> RouteConfiguration:
    required = VirtualHostTlsRequirementType.ALL if tls else VirtualHostTlsRequirementType.NONE
    return RouteConfiguration(name="gateway_8080", virtual_hosts=[
        VirtualHost(name=name, domains=[name], routes=routes, require_tls=required) for name, routes in hosts])


def test_a_split_keeps_every_virtual_host_in_every_scope_and_the_order_within_each() -> None:
    a1, b1, a2, c1 = route("/a/1"), route("/b/"), route("/a/"), route(path="/c/x")
    split = ScopeMemo().split(config(("one", [a1, b1, a2]), ("two", [c1])), minimum=1)
    assert split is not None
    assert [rc.name for rc in split.route_configs] == ["gateway_8080/a", "gateway_8080/b", "gateway_8080/c"]
    by_name = {rc.name: rc for rc in split.route_configs}
    assert [[vh.name for vh in rc.virtual_hosts] for rc in split.route_configs] == [["one", "two"]] * 3
    assert [vh.routes for vh in by_name["gateway_8080/a"].virtual_hosts] == [[a1, a2], []]
    assert [vh.routes for vh in by_name["gateway_8080/c"].virtual_hosts] == [[], [c1]]
    assert [(s.name, s.route_configuration_name, [f.string_key for f in s.key.fragments]) for s in split.scopes] == [
        (f"gateway_8080/{k}", f"gateway_8080/{k}", [k]) for k in "abc"]
    assert split.routes == 4


def test_a_configuration_is_not_split_when_the_split_could_answer_otherwise() -> None:
    memo = ScopeMemo()
    assert memo.split(config(("h", [route("/a/"), route("/b")])), 1) is None  # "/b" pins nothing
    assert memo.split(config(("h", [route("/a/"), route("/b/.*", regex=True)])), 1) is None
    assert memo.split(config(("h", [route("/a/"), route("/b/")]), tls=True), 1) is None  # redirects every key
    assert memo.split(config(("h", [route("/a/"), route("/a/x")])), 1) is None  # one segment: nothing to gain
    assert memo.split(config(("h", [route("/a/"), route("/b/")])), 3) is None  # fewer routes than asked for
    assert memo.split(config(("h", [route("/a/"), route("/b/")])), 2) is not None


def test_a_split_configuration_stays_split_down_to_half_the_minimum() -> None:
    """Each switch between one route configuration and scopes replaces the listener's connection manager, so a
    configuration whose size hovers around the minimum does not switch on every edit."""
    memo = ScopeMemo()
    four = config(("h", [route("/a/"), route("/b/"), route("/c/"), route("/d/")]))
    two = config(("h", [route("/a/"), route("/b/")]))
    assert memo.split(two, 4) is None and memo.split(four, 4) is not None
    assert memo.split(two, 4) is not None  # 2 >= 4 // 2
    assert memo.split(config(("h", [route("/a/")])), 4) is None  # one route, one segment: not split...
    assert memo.split(two, 4) is None  # ...and from then on the whole minimum applies again


def test_an_edit_makes_new_messages_for_its_scope_only() -> None:
    memo = ScopeMemo()
    a, b, c = route("/a/"), route("/b/"), route("/c/")
    first = memo.split(config(("h", [a, b, c])), 1)
    again = memo.split(config(("h", [a, b, c])), 1)  # a new configuration of the very same route objects
    edited = memo.split(config(("h", [a, route("/b/"), c])), 1)  # b edited: a new object
    assert first is not None and again is not None and edited is not None
    assert all(x is y for x, y in zip(first.route_configs, again.route_configs, strict=True))
    assert [x is y for x, y in zip(first.route_configs, edited.route_configs, strict=True)] == [True, False, True]
    assert all(x is y for x, y in zip(first.scopes, edited.scopes, strict=True))  # the keys did not change
    renamed = memo.split(config(("h2", [a, b, c])), 1)  # a host's own fields changed: every scope is new
    assert renamed is not None and not any(x is y for x, y in zip(edited.route_configs, renamed.route_configs,
                                                                   strict=True))


# --- the translator --------------------------------------------------------------------------------------

def tables_yaml(tables: int, routes: int, tag: str = "v") -> str:
    """A VirtualGateway, a VirtualHost delegating /tN/ to table N, and each table's routes /tN/rM/."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": API, "kind": "VirtualGateway", "metadata": {"name": "gw", "namespace": "s"},
         "spec": {"connectionHandlers": [{"http": {"routeConfig": [{"virtualHostSelector": {"namespaces": ["s"]}}]}}]}},
        {"apiVersion": API, "kind": "VirtualHost", "metadata": {"name": "vh", "namespace": "s"},
         "spec": {"domains": ["*"], "routes": [
             {"name": f"to-t{t}", "matchers": [{"uri": {"prefix": f"/t{t}"}}],
              "delegateAction": {"refs": [{"name": f"t{t}", "namespace": "s"}]}} for t in range(tables)]}}]
    for t in range(tables):
        docs.append({"apiVersion": API, "kind": "RouteTable", "metadata": {"name": f"t{t}", "namespace": "s"},
                     "spec": {"routes": [{"name": f"r{r}", "matchers": [{"uri": {"prefix": f"/r{r}/"}}],
                                          "directResponseAction": {"status": 200, "body": f"{tag} t{t} r{r}"}}
                                         for r in range(routes)]}})
    return yaml.safe_dump_all(docs, sort_keys=False)


def translated(tmp_path: Path, text: str, **options: Any) -> Any:
    from meshctl.model.snapshot import load_snapshot

    (tmp_path / "config.yaml").write_text(text)
    translator = Translator(load_snapshot([tmp_path]), TranslateOptions(**options))
    return translator.node_resources(NodeInfo("n", cluster="gateway"))


def hcm_of(resources: Any) -> Any:
    from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import HttpConnectionManager

    [listener] = resources.listeners
    return HttpConnectionManager().parse(listener.filter_chains[0].filters[0].typed_config.value)


def test_the_translator_scopes_a_large_gateway_configuration_and_not_a_small_one(tmp_path: Path) -> None:
    text = tables_yaml(3, 4)
    plain = translated(tmp_path, text)
    assert hcm_of(plain).rds.route_config_name == "gateway_8080" and not plain.scopes
    small = translated(tmp_path, text, scoped_routes=13)  # 12 routes
    assert [rc.name for rc in small.routes] == ["gateway_8080"] and not small.scopes
    scoped = translated(tmp_path, text, scoped_routes=12)
    hcm = hcm_of(scoped)
    assert hcm.rds is None and hcm.scoped_routes.name == "gateway_8080"
    [fragment] = hcm.scoped_routes.scope_key_builder.fragments
    extractor = fragment.header_value_extractor
    assert (extractor.name, extractor.element_separator, extractor.index) == (":path", "/", 1)
    assert [rc.name for rc in scoped.routes] == [f"gateway_8080/t{t}" for t in range(3)]
    assert [s.route_configuration_name for s in scoped.scopes] == [rc.name for rc in scoped.routes]
    # the scopes hold exactly the unscoped configuration's routes, each in its first segment's scope
    [whole] = plain.routes
    assert sorted(codec.encode(r) for rc in scoped.routes for vh in rc.virtual_hosts for r in vh.routes) == \
        sorted(codec.encode(r) for vh in whole.virtual_hosts for r in vh.routes)
    snapshot = scoped.snapshot("v1")
    assert snapshot.consistent() and set(snapshot.resources[SCOPED_ROUTE_TYPE]) == {s.name for s in scoped.scopes}


def test_a_scope_naming_a_missing_route_configuration_is_inconsistent(tmp_path: Path) -> None:
    scoped = translated(tmp_path, tables_yaml(2, 2), scoped_routes=1)
    resources = dict(scoped.snapshot("v1").resources)
    resources[ROUTE_TYPE] = {k: v for k, v in resources[ROUTE_TYPE].items() if not k.endswith("/t1")}
    [problem] = XdsSnapshot("v1", resources).inconsistencies()
    assert "scope 'gateway_8080/t1' uses RDS 'gateway_8080/t1', which has no RouteConfiguration" == problem


# --- pushes: only the route configurations that changed ------------------------------------------------------

async def test_a_stream_is_pushed_only_the_route_configurations_whose_content_changed() -> None:
    bodies = {"a": "1", "b": "1", "c": "1"}

    def build(_: Any) -> XdsSnapshot:
        configs = [RouteConfiguration(name=n, virtual_hosts=[VirtualHost(name="h", domains=["*"], routes=[Route(
            match=RouteMatch(prefix="/"), direct_response=DirectResponseAction(status=200))])],
            request_headers_to_remove=[f"x-{b}"]) for n, b in bodies.items()]
        return XdsSnapshot.from_messages("v", routes=configs)

    server = XdsServer(build, "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            client = AdsClient(channel)
            await client.send(DiscoveryRequest(node=node("n1"), type_url=ROUTE_TYPE, resource_names=["a", "b"]))
            first = await client.recv()
            assert names_of(first) == ["a", "b"]
            await client.send(ack(first, ["a", "b"]))
            bodies["b"] = "2"
            await asyncio.wrap_future(server.refresh())
            second = await client.recv()
            assert names_of(second) == ["b"] and second.version_info != first.version_info
            await client.send(ack(second, ["a", "b", "c"]))  # a scope added: its configuration is sent
            third = await client.recv()
            assert names_of(third) == ["c"]
            await client.send(ack(third, ["a", "b", "c"]))
            bodies["c"] = "3"  # outside what changed nothing is re-sent
            await asyncio.wrap_future(server.refresh())
            assert names_of(await client.recv()) == ["c"]
            client.cancel()
    finally:
        await server.stop()


# --- real Envoy ---------------------------------------------------------------------------------------------

_KEYS = ["a", "b", "api", "v1"]


class ScopableTrees(RouteTreeGenerator):
    """Random configurations whose every route pins its first path segment (so meshctl scopes them): direct
    routes and delegations under /K/ in two virtual hosts, with header, query and method conditions; requests
    aimed at them, and at keys no route has, at "/K" and "/K?q", at upper-case segments, at "/"."""

    def _path(self, depth: int) -> str:
        return f"/{self.rng.choice(_KEYS)}/" + "/".join(self.rng.choice(["x", "1", "y"])
                                                         for _ in range(self.rng.randint(0, 2)))

    def config(self) -> list[dict[str, Any]]:
        rng = self.rng
        tables = []
        vhosts = []
        for t in range(rng.randint(1, 3)):
            key = rng.choice(_KEYS)
            routes = []
            for _ in range(rng.randint(1, 4)):
                m = self._conditions(f"/{key}/" + rng.choice(["", "x", "x/1", "y/"]))
                routes.append({"name": self._uid().lower(), "matchers": [m],
                               "directResponseAction": {"status": 200, "body": f"R{self.next_id}"}})
            tables.append((key, {"apiVersion": API, "kind": "RouteTable",
                                 "metadata": {"name": f"t{t}", "namespace": DIFF_NS}, "spec": {"routes": routes}}))
        for i, domain in enumerate(rng.sample(["a.test", "b.test", "*"], k=2)):
            routes = []
            if rng.random() < 0.2:  # a route that pins no segment ("/a" also takes "/api/..."): not scoped
                routes.append({"name": self._uid().lower(), "matchers": [
                    {"uri": {rng.choice(["prefix", "exact"]): f"/{rng.choice(_KEYS)}"}}],
                    "directResponseAction": {"status": 200, "body": f"R{self.next_id}"}})
            for _ in range(rng.randint(2, 6)):
                if tables and rng.random() < 0.3:
                    key, table = rng.choice(tables)
                    routes.append({"name": self._uid().lower(), "matchers": [{"uri": {"prefix": f"/{key}/"}}],
                                   "delegateAction": {"refs": [{"name": table["metadata"]["name"],
                                                                "namespace": DIFF_NS}]}})
                else:
                    routes.append({"name": self._uid().lower(), "matchers": [self._conditions(self._path(0))],
                                   "directResponseAction": {"status": 200, "body": f"R{self.next_id}"}})
            vhosts.append({"apiVersion": API, "kind": "VirtualHost", "metadata": {"name": f"vh{i}", "namespace": DIFF_NS},
                           "spec": {"domains": [domain], "routes": routes}})
        gateway = {"apiVersion": API, "kind": "VirtualGateway", "metadata": {"name": "gw", "namespace": DIFF_NS},
                   "spec": {"connectionHandlers": [{"http": {"routeConfig": [
                       {"virtualHostSelector": {"namespaces": [DIFF_NS]}}]}}]}}
        return [gateway, *vhosts, *(t for _, t in tables)]

    def _conditions(self, path: str) -> dict[str, Any]:
        rng = self.rng
        m: dict[str, Any] = {"uri": {rng.choice(["prefix", "prefix", "exact"]): path}}
        if m["uri"].get("exact", "").endswith("/") and rng.random() < 0.5:
            m["uri"] = {"exact": path + "z"}
        if rng.random() < 0.25:
            m["headers"] = [{"name": "x-a", "value": rng.choice(["1", "2"])}]
        if rng.random() < 0.2:
            m["queryParameters"] = [{"name": "q", "value": "1"}]
        if rng.random() < 0.1:
            m["method"] = "POST"
        return m

    def request(self, view: Any) -> DiffRequest:
        rng = self.rng
        if rng.random() < 0.7:
            return super().request(view)
        key = rng.choice([*_KEYS, "zz", "A", "API", "ap"])
        path = rng.choice([f"/{key}", f"/{key}?q=1", f"/{key}/x", f"/{key}/x?q=1", "/", f"//{key}/x", f"/{key}/y/",
                           f"/{key}x/1"])
        headers = {"x-a": rng.choice(["1", "2"])} if rng.random() < 0.4 else {}
        return DiffRequest(rng.choice(["GET", "POST"]), rng.choice(["a.test", "b.test", "other.test"]), path,
                           headers)


@pytest.mark.envoy
def test_envoy_answers_a_scoped_configuration_like_the_sandbox(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("")
    port = free_port()
    options = TranslateOptions(listener_ports={f"{DIFF_NS}/gw": port}, sidecar_port=free_port(), scoped_routes=1)
    harness = MeshHarness([FileSource([str(tmp_path)], interval=0.01)], options)
    try:
        harness.envoy("scoped-1")
        client = harness.client(port)
        scoped = []

        def generator(seed: int) -> ScopableTrees:
            config.write_text(yaml.safe_dump_all(ScopableTrees(seed).config(), sort_keys=False))
            harness.reload()
            scoped.append(bool(harness.service.resources_for(NodeInfo("scoped-1", cluster="gateway")).scopes))
            # switching between one route configuration and scopes replaces the listener's connection manager:
            # connections opened before keep the routes they had while Envoy drains them; ask on a new one
            client.close()
            return ScopableTrees(seed)

        total, disagreements = run_differential(harness, config, client, range(1, 16), 60, generator)
        report = "\n".join(f"config {d.config} ({d.kind}): {d.request.describe()}: sandbox {d.sandbox}, "
                           f"envoy {d.other}" for d in disagreements[:10])
        assert total == 15 * 60 and not disagreements, f"{len(disagreements)} of {total} differ:\n{report}"
        assert 8 <= sum(scoped) < 15  # most configurations were served scoped, and some (an unpinned route) not
    finally:
        harness.stop()


@pytest.mark.envoy
@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
def test_a_one_route_edit_in_a_scoped_configuration_reaches_envoy_as_one_route_configuration(tmp_path: Path,
                                                                                             delta: bool) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(tables_yaml(4, 5))
    port = free_port()
    options = TranslateOptions(listener_ports={"s/gw": port}, sidecar_port=free_port(), scoped_routes=1)
    harness = MeshHarness([FileSource([str(tmp_path)], interval=0.01)], options)
    pushes: list[Any] = []
    try:
        harness.envoy("scoped-2", delta=delta)
        harness.service.wait_synced(15)
        header, row = status_table(harness.service.status()).splitlines()[:2]
        assert dict(zip(header.split(), row.split(), strict=True))["SRDS"] == "SYNCED"  # a column while scoped
        client = harness.client(port)
        assert client.get("/t2/r3/", host="any.test") == (200, "v t2 r3")
        assert client.get("/t9/r1/", host="any.test")[0] == 404 and client.get("/t2", host="any.test")[0] == 404
        harness.service.add_listener(lambda e: pushes.append(e) if e.kind == "push" else None)
        config.write_text(tables_yaml(4, 5).replace("v t2 r3", "edited t2 r3"))
        harness.reload()
        assert client.get("/t2/r3/", host="any.test") == (200, "edited t2 r3")
        assert all(client.get(f"/t{t}/r1/", host="any.test") == (200, f"v t{t} r1") for t in range(4))
        assert [codec.short_name(e.type_url) for e in pushes] == ["RDS"]  # one scope's configuration, nothing else
        # a new first segment: a new scope (SRDS), whose configuration Envoy then asks for
        pushes.clear()
        config.write_text(tables_yaml(5, 5))
        harness.reload()
        harness.service.wait_synced(15)
        assert client.get("/t4/r1/", host="any.test") == (200, "v t4 r1")
        assert "SRDS" in {codec.short_name(e.type_url) for e in pushes}
        # back to one route configuration when the routes no longer pin their segments
        config.write_text(tables_yaml(5, 5) + "---\n" + yaml.safe_dump(
            {"apiVersion": API, "kind": "VirtualHost", "metadata": {"name": "all", "namespace": "s"},
             "spec": {"domains": ["all.test"], "routes": [{"matchers": [{"uri": {"prefix": "/"}}],
                                                            "directResponseAction": {"status": 200, "body": "all"}}]}}))
        harness.reload()
        harness.service.wait_synced(15)
        # the open connection belongs to the replaced listener, which keeps its scopes while it drains; a new
        # connection gets the new listener
        assert client.get("/t4/r1/", host="any.test") == (200, "v t4 r1")
        fresh = harness.client(port)
        assert fresh.get("/t4/r1/", host="any.test") == (200, "v t4 r1")
        assert fresh.get("/anything", host="all.test") == (200, "all")
        assert not harness.service.resources_for(NodeInfo("scoped-2", cluster="gateway")).scopes
    finally:
        harness.stop()


# --- meshctl verify reads scoped routes as one route configuration ------------------------------------------

def _verify(*args: str) -> tuple[int, Any]:
    import io
    import json
    from contextlib import redirect_stdout

    from meshctl.cli.main import main

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["verify", *args, "-o", "json"])
    return code, json.loads(out.getvalue())


def test_verify_reads_a_scoped_dump_and_refuses_scopes_that_do_not_merge(tmp_path: Path) -> None:
    import io
    import json
    from contextlib import redirect_stdout

    from meshctl.cli.main import main
    from meshctl.envoyconfig.select import load_envoy_config
    from meshctl.envoyconfig.source import EnvoyConfigError

    (tmp_path / "config.yaml").write_text(tables_yaml(3, 4))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["xds", "dump", str(tmp_path / "config.yaml"), "--scoped-routes", "2", "-o", "json"]) == 0
    dump = json.loads(out.getvalue())
    assert len(dump["scopedRoutes"]) == 3
    written = tmp_path / "dump.json"
    written.write_text(json.dumps(dump))
    code, report = _verify(str(tmp_path / "config.yaml"), "--envoy-config", str(written))
    assert code == 0 and report["counts"]["same"] == 12
    # a route that does not pin its scope's segment: its scope would not answer it; not read as one
    dump["routes"][1]["virtualHosts"][0]["routes"][0]["match"] = {"prefix": "/t0/r9/"}
    written.write_text(json.dumps(dump))
    with pytest.raises(EnvoyConfigError, match="a route of scope 't1' does not pin that first path segment"):
        load_envoy_config(written).select()


@pytest.mark.envoy
def test_verify_agrees_with_a_scoped_envoy(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(tables_yaml(4, 5))
    port = free_port()
    options = TranslateOptions(listener_ports={"s/gw": port}, sidecar_port=free_port(), scoped_routes=1)
    harness = MeshHarness([FileSource([str(tmp_path)], interval=0.01)], options)
    try:
        envoy = harness.envoy("scoped-3")
        harness.service.wait_synced(15)
        code, report = _verify(str(tmp_path / "config.yaml"), "--envoy-admin", envoy.admin_url)
        assert code == 0 and report["counts"]["same"] == 20, report
    finally:
        harness.stop()


# --- the memo's split equals a fresh one after any edit -------------------------------------------------------

def _contents(split: Any) -> dict[str, list[list[int]]]:
    return {rc.name: [[id(r) for r in vh.routes] for vh in rc.virtual_hosts] for rc in split.route_configs} \
        if split is not None else {}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_split_after_random_edits_equals_a_fresh_one(data: st.DataObject) -> None:
    """Routes replaced, inserted and removed in runs anywhere in two hosts (a new object for an edited route, as the
    route memo makes): each split equals a fresh split of the same configuration, and a scope none of whose routes
    changed keeps its messages."""
    keys = ["a", "b", "c", "d"]
    made = st.builds(lambda k, tail: route(f"/{k}/{tail}"), st.sampled_from(keys), st.sampled_from(["", "x", "y/z"]))
    hosts = [data.draw(st.lists(made, max_size=12)) for _ in range(2)]
    memo = ScopeMemo()
    previous = None
    for _ in range(data.draw(st.integers(1, 6))):
        h = data.draw(st.integers(0, 1))
        start = data.draw(st.integers(0, len(hosts[h])))
        stop = data.draw(st.integers(start, len(hosts[h])))
        hosts[h] = hosts[h][:start] + data.draw(st.lists(made, max_size=3)) + hosts[h][stop:]
        now = config(("one", list(hosts[0])), ("two", list(hosts[1])))
        got, fresh = memo.split(now, 1), ScopeMemo().split(now, 1)
        assert _contents(got) == _contents(fresh)
        if got is not None and previous is not None:
            before = {rc.name: rc for rc in previous.route_configs}
            for rc in got.route_configs:
                if rc.name in before and _contents_of(rc) == _contents_of(before[rc.name]):
                    assert rc is before[rc.name]
        previous = got


def _contents_of(rc: Any) -> list[list[int]]:
    return [[id(r) for r in vh.routes] for vh in rc.virtual_hosts]
