"""Compiled policies are cached by the desk's session factory, not by the process: one per app, thread-safe."""

from __future__ import annotations

import threading

from sladesk.policy import builtin_source
from sladesk.services.policies import PolicyCache, pin_policy, policy_at, policy_cache
from sladesk.store import make_sessions, transaction


def test_sessions_of_one_factory_share_a_cache_and_another_factory_has_its_own(engine):
    first, second = make_sessions(engine), make_sessions(engine)
    with first() as a, first() as b, second() as c:
        assert policy_cache(a) is policy_cache(b)
        assert policy_cache(a) is not policy_cache(c)


def test_a_stored_version_is_compiled_once_per_desk(engine):
    sessions = make_sessions(engine)
    with transaction(sessions) as session:
        pinned = pin_policy(session, "alleo")  # stores the shipped text as version 1
    fresh = make_sessions(engine)  # a second app on the same database compiles its own copy
    with fresh() as session:
        compiled = policy_at(session, "alleo", pinned.version)
        assert policy_at(session, "alleo", pinned.version) is compiled
    with fresh() as session:
        assert policy_at(session, "alleo", pinned.version) is compiled


def test_threads_compiling_one_text_at_once_all_get_the_same_policy():
    cache = PolicyCache()
    source = builtin_source("choozle")
    results = []
    barrier = threading.Barrier(4)

    def compile_it() -> None:
        barrier.wait()
        results.append(cache.compile("sha", "choozle.yaml", source))

    threads = [threading.Thread(target=compile_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(result is results[0] for result in results)
    assert cache.compiled("sha") is results[0]
