"""Pure routing decisions: order, address matching, rewrites and the model map."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from routing.rules.engine import MappingRule, RouteRule, RuleSet, Transforms, UpstreamSpec, decide
from routing.rules.patterns import (
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
        compiled = compile_model_pattern(pattern)
        if compiled.exact is not None:
            exact[pattern] = replacement
        else:
            regex.append(MappingRule(compiled, replacement))
    return RuleSet(DEFAULT, tuple(routes), MappingProxyType(exact), tuple(regex), Transforms())


def test_the_first_matching_route_wins():
    ruleset = rules([route("a", "/.*-1.5b/", upstream=GPU), route("b", "qwen-1.5b", upstream=DEV)])
    decision = decide(ruleset, "qwen-1.5b", "10.0.0.1")
    assert (decision.route, decision.upstream) == ("a", GPU)


def test_a_regex_matches_the_whole_name():
    ruleset = rules([route("a", "/.*-1.5b/", upstream=GPU)])
    assert decide(ruleset, "qwen-1.5b-instruct", "1.2.3.4").upstream == DEFAULT


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
