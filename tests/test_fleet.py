"""A fleet of loopback servers: spreading, waiting, a server dying mid-run, the shared cache, config."""

import json
import threading
import time

import pytest

from tests.loopback import Fault, LoopbackServer
from toolkit import LLM, Step
from toolkit.llm import Retry
from toolkit.llm import fleet as fleet_module


@pytest.fixture
def servers():
    srvs = [LoopbackServer(latency=0.01).start() for _ in range(3)]
    yield srvs
    for s in srvs:
        s.stop()


@pytest.fixture
def prompt(prompt_file):
    return prompt_file("messages:\n  - user: '{text}'\n")


def test_2000_rows_over_three_servers_one_dies_midway(servers, prompt, loopback_llm, rows):
    servers[1].faults = lambda i, body: "drop" if i >= 200 else None  # dead after its 200th request
    llm = loopback_llm(servers)
    out = Step("qa", prompt, llm).run(rows(2000))
    assert (out["qa.status"] == "ok").all() and (out["qa"] == "echo: " + out["text"]).all()
    per = llm.usage.deployments
    dead = per[servers[1].url]
    assert dead["calls"] == 200 and dead["failures"] >= 1
    assert "the server closed the connection before answering" in dead["last_error"]
    assert [per[s.url]["failures"] for s in (servers[0], servers[2])] == [0, 0]
    # every request that reached a server is one the fleet counted, answered or failed
    assert sum(s.count for s in servers) == sum(d["calls"] + d["failures"] for d in per.values())
    assert sum(d["calls"] for d in per.values()) == llm.usage.calls == 2000
    assert llm.usage.retries == dead["failures"] and llm.usage.failures == 0
    assert servers[0].count > 800 and servers[2].count > 800


def test_a_server_stopped_midway_loses_no_row(servers, prompt, loopback_llm, rows):
    """Event-driven: the victim answers 300 calls and holds the next ones; it is stopped while it
    holds them, so calls are in flight on it at the stop however loaded the machine is."""
    victim = servers[0]
    victim.hold(from_index=300)
    errors = []

    def kill():
        try:
            victim.wait_for(300 + 1)
        except AssertionError as e:
            errors.append(e)
        victim.stop()
    killer = threading.Thread(target=kill)
    killer.start()
    llm = loopback_llm(servers)
    out = Step("qa", prompt, llm).run(rows(2000))
    killer.join()
    assert not errors
    assert (out["qa.status"] == "ok").all()
    per = llm.usage.deployments
    assert per[victim.url]["failures"] >= 1 and per[victim.url]["calls"] <= victim.count
    assert sum(d["calls"] for d in per.values()) == 2000
    assert sum(per[s.url]["calls"] for s in servers[1:]) >= 2000 - victim.count


def test_callers_wait_for_a_slot_instead_of_getting_429(loopback_llm):
    with LoopbackServer(latency=0.05, max_concurrent=4) as a, \
            LoopbackServer(latency=0.05, max_concurrent=4) as b:
        llm = loopback_llm([a, b], max_concurrent=4)
        results = llm.complete_many([f"c{i}" for i in range(64)])
        assert all(r.ok and r.attempts == 1 for r in results)
        assert (a.rejected, b.rejected) == (0, 0)
        assert a.peak_concurrency == b.peak_concurrency == 4


def test_a_slow_server_takes_less_of_the_work(loopback_llm):
    """Event-driven: the slow server holds every request until the fast one has answered all the
    others, so the split does not depend on the machine's speed: a slot is taken wherever one
    opens, not dealt round-robin (round-robin would leave half the calls waiting on `slow`)."""
    with LoopbackServer(latency=0.01) as fast, LoopbackServer(latency=0.01) as slow:
        slow.hold()
        errors = []

        def release_when_fast_is_done():
            try:
                fast.wait_for(400 - 4)  # all but the 4 calls in slow's slots (max_concurrent=4)
            except AssertionError as e:
                errors.append(e)
            slow.release()
        helper = threading.Thread(target=release_when_fast_is_done)
        helper.start()
        results = loopback_llm([fast, slow], max_concurrent=4).complete_many([f"s{i}" for i in range(400)])
        helper.join()
        assert not errors and all(r.ok for r in results)
        assert (fast.count, slow.count) == (396, 4)


def test_a_429_sends_the_call_to_another_deployment(servers, loopback_llm):
    servers[0].fail_all(Fault("429", retry_after=30))
    llm = loopback_llm(servers)
    results = llm.complete_many([f"r{i}" for i in range(60)])
    assert all(r.ok for r in results)
    assert servers[0].count <= 8  # the first wave of slots only: then it cools down for its Retry-After
    assert llm.usage.deployments[servers[0].url]["failures"] == servers[0].count


def test_fleet_and_single_server_runs_share_the_cache(servers, loopback_llm):
    loopback_llm(servers).complete_many(["shared a", "shared b"], max_tokens=5)
    single = loopback_llm(servers[2])
    assert all(r.cached for r in single.complete_many(["shared a", "shared b"], max_tokens=5))
    single.complete("single first")
    before = sum(s.count for s in servers)
    assert loopback_llm(servers).complete("single first").cached
    assert sum(s.count for s in servers) == before


def test_a_deployment_through_litellm_serves_alongside_direct_ones(servers, loopback_llm):
    llm = loopback_llm(max_concurrent=2, deployments=[
        {"api_base": servers[0].url}, {"model": "litellm_proxy/loopback", "api_base": servers[1].url}])
    assert [type(d.transport).__name__ for d in llm._transport.deployments] == ["OpenAIHTTP", "LiteLLM"]
    results = llm.complete_many([f"m{i}" for i in range(40)])
    assert [r.text for r in results] == [f"echo: m{i}" for i in range(40)]
    assert servers[0].count > 0 and servers[1].count > 0
    assert {q["body"]["model"] for q in servers[1].requests} == {"loopback"}


def test_a_dead_fleet_fails_fast_and_names_each_deployment(servers, monkeypatch, loopback_llm):
    monkeypatch.setattr(fleet_module, "COOLDOWN", 0.2)
    for s in servers:
        s.fail_all("503")
    llm = loopback_llm(servers, retry=Retry(max_attempts=4, base_delay=0.01))
    start = time.monotonic()
    results = llm.complete_many([f"d{i}" for i in range(30)])
    assert time.monotonic() - start >= 0.2  # waited for the cooldowns
    # attempts made while every deployment cooled down never reached a server
    assert sum(s.count for s in servers) < sum(r.attempts for r in results)
    assert all(not r.ok for r in results)
    assert any("every deployment of 'openai/loopback' is cooling down" in r.error for r in results)
    assert all(s.url in " ".join(r.error for r in results) for s in servers)
    assert all(d["failures"] >= 1 for d in llm.usage.deployments.values())


def test_rpm_holds_per_deployment(servers, admissions, loopback_llm):
    loopback_llm(servers[:2], rpm=2).complete_many([f"p{i}" for i in range(8)])
    assert [s.count for s in servers[:2]] == [4, 4]
    assert sorted(len(t) for t in admissions.values()) == [4, 4]  # one limiter per deployment
    for times in admissions.values():  # each deployment's third request a full period after its first
        assert times[2] - times[0] >= 1.0 and times[3] - times[1] >= 1.0


def test_usage_per_deployment_reaches_the_manifest(servers, folder, prompt, loopback_llm, rows):
    llm = loopback_llm(servers)
    before = json.loads(json.dumps(llm.usage.as_dict()))
    Step("qa", prompt, llm).run(rows(30))
    entry = json.loads((folder / "manifest.jsonl").read_text().splitlines()[-1])
    per = entry["usage"]["deployments"]
    assert set(per) == {s.url for s in servers}
    assert sum(d["calls"] for d in per.values()) == 30
    assert before["deployments"][servers[0].url]["calls"] == 0
    share = llm.usage - type(llm.usage)(deployments={servers[0].url: {"calls": 5}})
    assert share.deployments[servers[0].url]["calls"] == per[servers[0].url]["calls"] - 5


def test_litellm_config_file(tmp_path, servers, folder, monkeypatch, loopback_llm):
    monkeypatch.setenv("FLEET_TEST_KEY", "sk-from-env")
    config = tmp_path / "fleet.yaml"
    config.write_text(f"""
model_list:
  - model_name: qwen
    litellm_params: {{model: openai/loopback, api_base: "{servers[0].url}",
                      api_key: os.environ/FLEET_TEST_KEY, max_parallel_requests: 3}}
  - model_name: qwen
    litellm_params: {{model: openai/loopback, api_base: "{servers[1].url}", rpm: 600}}
  - model_name: other
    litellm_params: {{model: openai/other, api_base: "{servers[2].url}"}}
""")
    llm = loopback_llm(model="qwen", deployments=config)
    first, second = llm._transport.deployments
    assert (first.max_concurrent, second.max_concurrent, second.window.rpm) == (3, 8, 600)
    assert all(r.ok for r in llm.complete_many([f"y{i}" for i in range(20)]))
    assert servers[2].count == 0 and servers[0].count + servers[1].count == 20
    assert {q["headers"]["Authorization"] for q in servers[0].requests} == {"Bearer sk-from-env"}
    assert "sk-from-env" not in (folder / "cache.sqlite").read_bytes().decode(errors="replace")
    with pytest.raises(ValueError,
                       match=r"no deployment named 'llama' \(model_name values: \['other', 'qwen'\]\)"):
        LLM("llama", deployments=config, folder=folder)
    config.write_text("model_list:\n  - {model_name: q, litellm_params: {model: openai/x, "
                      "api_base: 'http://h/v1', api_key: os.environ/NOT_SET_ANYWHERE}}\n")
    with pytest.raises(ValueError, match="NOT_SET_ANYWHERE, which is not set"):
        LLM("q", deployments=config, folder=folder)


def test_deployment_mistakes_are_refused_before_any_request(servers, folder):
    with pytest.raises(ValueError, match="deployment 2: api_version not supported"):
        LLM("g", deployments=[{"model": "openai/x", "api_base": servers[0].url},
                              {"model": "azure/x", "api_version": "2024"}], folder=folder)
    with pytest.raises(ValueError, match="lists a deployment twice"):
        LLM("openai/x", deployments=[{"api_base": servers[0].url}] * 2, api_key="k", folder=folder)
    with pytest.raises(ValueError, match="each deployment names its own api_base"):
        LLM("openai/x", deployments=[{"api_base": servers[0].url}], api_base=servers[1].url, folder=folder)
    with pytest.raises(ValueError, match="needs at least one deployment"):
        LLM("openai/x", deployments=[], folder=folder)
    with pytest.raises(ValueError, match="max_concurrent must be a positive number"):
        LLM("openai/x", deployments=[{"api_base": servers[0].url, "max_concurrent": 0}], folder=folder)
    assert sum(s.count for s in servers) == 0
