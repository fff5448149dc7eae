"""The IdP's keys are cached, and fetched again when a token names a key the cache lacks."""

from joserfc.jwk import KeySet, RSAKey

from shared.auth import JwksCache


class CountingCache(JwksCache):
    """A cache whose 'IdP' publishes whatever keys the test puts in `published`."""

    def __init__(self, **options):
        super().__init__("https://idp.test/.well-known/openid-configuration", **options)
        self.published: list[RSAKey] = []
        self.fetches = 0

    def _fetch(self) -> KeySet:
        self.fetches += 1
        return KeySet.import_key_set({"keys": [key.as_dict(private=False) for key in self.published]})


def key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def kids(key_set: KeySet) -> set[str]:
    return {k.kid for k in key_set.keys}


def test_keys_are_fetched_once_and_then_served_from_the_cache():
    cache = CountingCache()
    cache.published = [key("2026-a")]

    assert kids(cache.keys()) == {"2026-a"}
    assert kids(cache.keys()) == {"2026-a"}
    assert cache.fetches == 1


def test_a_rotated_key_is_picked_up_when_asked_to_refresh():
    cache = CountingCache(min_refresh_interval=0)
    cache.published = [key("2026-a")]
    cache.keys()
    cache.published = [key("2026-a"), key("2026-b")]  # the IdP rotates

    assert kids(cache.keys(refresh=True)) == {"2026-a", "2026-b"}
    assert cache.fetches == 2


def test_tokens_with_unknown_kids_cannot_make_the_cache_hammer_the_idp():
    cache = CountingCache(min_refresh_interval=30)
    cache.published = [key("2026-a")]
    cache.keys()

    for _ in range(50):
        cache.keys(refresh=True)

    assert cache.fetches == 1


def test_fixed_keys_are_never_fetched():
    static = {"keys": [key("offline").as_dict(private=False)]}
    cache = CountingCache(static_jwks=static)

    assert kids(cache.keys(refresh=True)) == {"offline"}
    assert cache.fetches == 0
