"""Pure routing decisions: order, address matching, rewrites and the model map."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from routing.rules.engine import MappingRule, RouteRule, RuleSet, Transforms, UpstreamSpec, decide
from routing.rules.patterns import (
    FROM_START,
    PatternError,
    check_template,
    compile_model_pattern,
    parse_network,
)

DEFAULT = UpstreamSpec("default", "http://default:8000")
GPU = UpstreamSpec("gpu", "http://gpu:8000")
DEV = UpstreamSpec("dev", "http://dev:8000")


def route(name, model=None, source=None, upstream=None, rewrite="", **kw) -> RouteRule:
    return RouteRule(
        name=name,
        model=compile_model_pattern(model) if model else None,
        network=parse_network(source) if source else None,
        upstream=upstream,
        rewrite=rewrite,
        **kw,
    )


def rules(routes=(), model_map=None) -> RuleSet:
    exact, regex = {}, []
    for pattern, replacement in (model_map or {}).items():
        compiled = compile_model_pattern(pattern, FROM_START)
        if compiled.exact is not None:
            exact[pattern] = replacement
        else:
            regex.append(MappingRule(compiled, replacement))
    return RuleSet(DEFAULT, tuple(routes), MappingProxyType(exact), tuple(regex), Transforms())


def test_the_first_matching_route_wins():
    ruleset = rules([route("a", "/.*-1.5b/", upstream=GPU), route("b", "qwen-1.5b", upstream=DEV)])
    decision = decide(ruleset, "qwen-1.5b", "10.0.0.1")
    assert (decision.route, decision.upstream) == ("a", GPU)


@pytest.mark.parametrize(
    ("pattern", "model", "matches"),
    [
        ("/^big-/", "big-thing", True),
        ("/^big-/", "not-big-thing", False),
        (r"/-1\.5b$/", "qwen-1.5b", True),
        (r"/-1\.5b$/", "qwen-1.5b-x", False),
        ("/llama/", "meta-llama-3", True),
        ("/.*-1.5b/", "qwen-1.5b-instruct", True),
        ("qwen", "qwen-1.5b", False),  # exact names stay exact
        ("qwen", "qwen", True),
    ],
)
def test_a_route_regex_matches_when_found_anywhere_in_the_name(pattern, model, matches):
    ruleset = rules([route("a", pattern, upstream=GPU)])
    assert (decide(ruleset, model, "1.2.3.4").upstream == GPU) is matches


@pytest.mark.parametrize(
    ("model_map", "model", "mapped"),
    [
        ({"/gpt/": "qwen"}, "gpt-4o", "qwen"),
        ({"/gpt/": "qwen"}, "my-gpt", "my-gpt"),
        ({"/gpt-(.*)-turbo/": r"qwen-\1"}, "gpt-3.5-turbo", "qwen-3.5"),
        ({"/gpt-(.*)-turbo/": r"qwen-\1"}, "gpt-3.5-turbo-16k", "qwen-3.5"),
        ({"gpt-4": "llama3-70b"}, "gpt-4-turbo", "gpt-4-turbo"),
    ],
)
def test_a_map_regex_matches_from_the_start_and_replaces_the_whole_model(model_map, model, mapped):
    assert decide(rules(model_map=model_map), model, "1.2.3.4").model == mapped


def test_a_route_rewrite_replaces_the_whole_model_with_its_expansion():
    ruleset = rules([route("a", "/llama-(\\d+)/", rewrite=r"big-\1")])
    assert decide(ruleset, "meta-llama-3-instruct", "1.2.3.4").model == "big-3"


def test_gateway_keys_allow_a_regex_found_anywhere_in_the_name():
    from routing.rules.engine import KeySpec

    key = KeySpec("k", allowed=(compile_model_pattern("/llama/"), compile_model_pattern("gpt-4")))
    assert key.allows("meta-llama-3") and key.allows("gpt-4")
    assert not key.allows("gpt-4o") and not key.allows("qwen")


def test_a_rewrite_fills_back_references():
    ruleset = rules([route("a", "/gpt-(.*)-(turbo)/", rewrite=r"llama3-\1-\2", upstream=GPU)])
    assert decide(ruleset, "gpt-3.5-turbo", "1.2.3.4").model == "llama3-3.5-turbo"


def test_named_groups_work_in_rewrites():
    ruleset = rules([route("a", "/(?P<size>\\d+)b/", rewrite=r"llama-\g<size>B")])
    assert decide(ruleset, "70b", "1.2.3.4").model == "llama-70B"


def test_a_route_with_model_and_address_needs_both():
    ruleset = rules([route("both", "gpt-4", "10.0.1.0/24", upstream=DEV)])
    assert decide(ruleset, "gpt-4", "10.0.1.7").upstream == DEV
    assert decide(ruleset, "gpt-4", "10.0.2.7").upstream == DEFAULT
    assert decide(ruleset, "gpt-3", "10.0.1.7").upstream == DEFAULT


def test_an_address_route_matches_any_model_and_ipv4_mapped_clients():
    ruleset = rules([route("dev box", source="10.0.1.100", upstream=DEV)])
    assert decide(ruleset, "anything", "10.0.1.100").upstream == DEV
    assert decide(ruleset, "anything", "::ffff:10.0.1.100").upstream == DEV
    assert decide(ruleset, "anything", "not-an-ip").upstream == DEFAULT


def test_a_route_rewrite_beats_the_model_map():
    ruleset = rules([route("r", "gpt-4", rewrite="from-route")], {"gpt-4": "from-map"})
    decision = decide(ruleset, "gpt-4", "1.1.1.1")
    assert (decision.model, decision.mapping) == ("from-route", None)


def test_the_model_map_applies_when_the_route_does_not_rewrite():
    ruleset = rules([route("r", "gpt-4", upstream=GPU)], {"gpt-4": "llama3-70b"})
    decision = decide(ruleset, "gpt-4", "1.1.1.1")
    assert (decision.upstream, decision.model) == (GPU, "llama3-70b")


def test_an_exact_mapping_beats_an_earlier_regex():
    ruleset = rules(model_map={"/gpt-(.*)/": r"regex-\1", "gpt-4": "exact"})
    assert decide(ruleset, "gpt-4", "1.1.1.1").model == "exact"
    assert decide(ruleset, "gpt-5", "1.1.1.1").model == "regex-5"


def test_an_unmatched_model_goes_to_the_default_unchanged():
    decision = decide(rules(), "mistral", "1.1.1.1")
    assert (decision.upstream, decision.model, decision.route) == (DEFAULT, "mistral", None)


def test_route_transform_overrides_inherit_the_rest():
    ruleset = rules([route("r", "m", think="keep", json_fence=True)])
    assert decide(ruleset, "m", "1.1.1.1").transforms == Transforms("keep", False, True)
    assert decide(ruleset, "other", "1.1.1.1").transforms == Transforms()


def test_aliases_list_exact_route_and_map_names():
    ruleset = rules([route("r", "gpt-4"), route("s", "/x.*/")], {"gpt-3.5": "y"})
    assert ruleset.aliases == ["gpt-4", "gpt-3.5"]


@pytest.mark.parametrize("pattern", ["/(/", "//", "/(a)\\1/", ""])
def test_bad_patterns_are_refused_with_a_reason(pattern):
    with pytest.raises(PatternError):
        compile_model_pattern(pattern)


def test_a_catastrophic_regex_runs_in_linear_time():
    pattern = compile_model_pattern("/(a+)+$/")
    assert pattern.match("a" * 100_000 + "b") is None


def test_templates_may_only_name_existing_groups():
    with pytest.raises(PatternError):
        check_template(r"x-\2", compile_model_pattern("/(a)/"))
    check_template(r"x-\1", compile_model_pattern("/(a)/"))


@pytest.mark.parametrize("value", ["10.0.0.300", "hostname", "10.0.0.0/40"])
def test_bad_addresses_are_refused(value):
    with pytest.raises(PatternError):
        parse_network(value)
