from signaal.privacy.pseudonyms import pseudonym


def test_pseudonym_is_stable_keyed_and_namespaced() -> None:
    a = pseudonym("phone", "+31690000001", "k1")
    assert a == pseudonym("phone", "+31690000001", "k1")
    assert a.startswith("phone:")
    assert len(a) == len("phone:") + 16
    assert a != pseudonym("phone", "+31690000001", "k2")
    assert a != pseudonym("phone", "+31690000002", "k1")
    assert a.split(":")[1] != pseudonym("email", "+31690000001", "k1").split(":")[1]
